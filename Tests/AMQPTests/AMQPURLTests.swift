import AMQP
import Testing

@Suite("AMQP URLs")
struct AMQPURLTests {
    @Test("amqp URL with credentials, port and vhost")
    func plain() throws {
        let url = try AMQPURL("amqp://police:s%40cret@broker.example:5673/mash")
        #expect(!url.tls)
        #expect(url.host == "broker.example")
        #expect(url.port == 5673)
        #expect(url.user == "police")
        #expect(url.password == "s@cret")
        #expect(url.vhost == "mash")
    }

    @Test("defaults: port by scheme, vhost '/', guest")
    func defaults() throws {
        let url = try AMQPURL("amqps://localhost")
        #expect(url.tls)
        #expect(url.port == 5671)
        #expect(url.vhost == "/")
        #expect(url.user == "guest")
        #expect(try AMQPURL("amqp://h/%2F").vhost == "/")
    }

    @Test("TLS options from the query")
    func tlsOptions() throws {
        let url = try AMQPURL(
            "amqps://u:p@h:5671/v?cacertfile=/ca.pem&certfile=/c.pem&keyfile=/c.key&heartbeat=5&auth_mechanism=external"
        )
        #expect(url.caCertificateFile == "/ca.pem")
        #expect(url.certificateFile == "/c.pem")
        #expect(url.keyFile == "/c.key")
        #expect(url.heartbeatSeconds == 5)
        #expect(url.externalAuthentication)
        #expect(url.verifyPeer)
    }

    @Test(
        "bad URLs are refused with the reason",
        arguments: [
            ("http://h/", "scheme must be amqp or amqps"),
            ("amqp://h/?heartbeat=soon", "heartbeat must be"),
            ("amqp://h/?colour=blue", "unknown URL option 'colour'"),
            ("amqps://h/?certfile=/c.pem", "certfile and keyfile go together"),
            ("amqp://h/?cacertfile=/ca.pem", "TLS options need an amqps:// URL"),
            ("amqp://h/a/b", "one path segment"),
        ])
    func refused(url: String, reason: String) {
        #expect {
            try AMQPURL(url)
        } throws: { error in
            guard let error = error as? AMQPError else { return false }
            return error.code == .invalidURL && error.message.contains(reason)
        }
    }

    @Test("the password never appears in the description")
    func redacted() throws {
        let url = try AMQPURL("amqp://police:hunter2@h:1/mash")
        #expect(!url.description.contains("hunter2"))
        #expect(url.description.contains("police"))
    }
}
