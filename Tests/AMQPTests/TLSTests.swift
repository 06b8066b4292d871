import AMQP
import MASHTesting
import Testing

@Suite("TLS to the private node (CA and server certificate generated with openssl by scripts/broker.sh)")
struct TLSTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.fromEnvironment() }

    private func tlsURL(ca: String, certificate: String? = nil, key: String? = nil) throws -> AMQPURL {
        var url = try AMQPURL(broker.tlsURL)
        url.caCertificateFile = ca
        url.certificateFile = certificate
        url.keyFile = key
        return url
    }

    @Test("amqps:// with the right CA verifies the broker and carries messages")
    func rightCA() async throws {
        let url = try tlsURL(ca: broker.caFile)
        #expect(url.tls && url.verifyPeer)
        let connection = try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test tls"))
        defer { Task { await connection.close() } }
        let queue = TestNames.queue("tls")
        try await connection.declare(
            Topology(queues: [Topology.Queue(name: queue, arguments: ["x-queue-type": "quorum"])]))
        let message = testMessage("over TLS")
        try await connection.publish(message, exchange: "", routingKey: queue)
        let deliveries = try await connection.consume(queue: queue)
        let delivery = try await deliveries.next(within: .seconds(10))
        #expect(delivery.body == message.body)
        try delivery.ack()
        try await connection.delete(queue: queue)
    }

    @Test("a client certificate signed by the CA is accepted")
    func clientCertificate() async throws {
        let url = try tlsURL(ca: broker.caFile, certificate: broker.clientCertificateFile, key: broker.clientKeyFile)
        let connection = try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test mtls"))
        #expect(connection.status.isConnected)
        await connection.close()
    }

    @Test("a CA that did not sign the broker's certificate is refused with a clear TLS error")
    func wrongCA() async throws {
        let scratch = try ScratchDirectory("wrong-ca")
        defer { scratch.remove() }
        try Shell.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=Not the MASH CA", "-keyout", scratch.file("ca.key"), "-out", scratch.file("ca.pem"),
            ])
        let url = try tlsURL(ca: scratch.file("ca.pem"))
        await #expect {
            try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test wrong ca"))
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .tlsFailed && error?.message.contains(scratch.file("ca.pem")) == true
        }
    }

    @Test("a host name the certificate does not name is refused")
    func wrongHostName() async throws {
        var url = try tlsURL(ca: broker.caFile)
        url.host = "127.0.0.2"  // loopback too, but not in the certificate's subjectAltName
        await #expect {
            try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test wrong host"))
        } throws: { error in
            (error as? AMQPError)?.code == .tlsFailed || (error as? AMQPError)?.code == .connectionFailed
        }
    }

    @Test("a missing CA file is named in the error")
    func missingCAFile() async throws {
        let url = try tlsURL(ca: "/nonexistent/ca.pem")
        await #expect {
            try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test missing ca"))
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .tlsFailed && error?.message.contains("/nonexistent/ca.pem") == true
        }
    }
}
