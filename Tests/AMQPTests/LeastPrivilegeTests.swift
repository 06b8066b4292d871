import AMQP
import MASHTesting
import Testing

@Suite("Least privilege: agency users from the imported definitions")
struct LeastPrivilegeTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.fromEnvironment() }

    private func connect(as user: String) async throws -> AMQPConnection {
        try await AMQPConnection.connect(
            AMQPConfiguration(url: try broker.url(asUser: user), connectionName: "test \(user)"))
    }

    @Test("police cannot consume the health queue (ACCESS_REFUSED) but can consume its own")
    func policeReadsOnlyItsQueue() async throws {
        let police = try await connect(as: "police")
        defer { Task { await police.close() } }
        await #expect {
            _ = try await police.consume(queue: "agency.health.enquiries")
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .accessRefused && error?.replyCode == 403
                && error?.message.contains("agency.health.enquiries") == true
        }
        let own = try await police.consume(queue: "agency.police.enquiries")
        _ = own  // consuming its own queue is permitted
        #expect(police.status.isConnected)
    }

    @Test("police can publish a response, and cannot publish an enquiry or declare a queue")
    func policeWritesOnlyResponses() async throws {
        let police = try await connect(as: "police")
        let admin = try await broker.connect("least privilege observer")
        defer {
            Task {
                await police.close()
                await admin.close()
            }
        }
        let response = testMessage("sealed response", type: "research-response", headers: ["x-mash-sender": "police"])
        try await police.publish(response, exchange: "mash.responses", routingKey: "police")

        await #expect {
            try await police.publish(testMessage("forged enquiry"), exchange: "mash.enquiries", routingKey: "health")
        } throws: { error in
            (error as? AMQPError)?.code == .accessRefused
        }
        await #expect {
            try await police.declare(Topology(queues: [Topology.Queue(name: TestNames.queue("police-made"))]))
        } throws: { error in
            (error as? AMQPError)?.code == .accessRefused
        }

        // The response reached the coordinator's queue: take it back out so the queue stays clean.
        let responses = try await admin.consume(queue: "coordinator.responses", prefetch: 50)
        try await within(.seconds(10), "the police response on coordinator.responses") {
            for try await delivery in responses {
                if delivery.properties.messageID == response.properties.messageID {
                    #expect(delivery.body == response.body)
                    #expect(delivery.routingKey == "police")
                    try delivery.ack()
                    return
                }
                try delivery.nack(requeue: true)
            }
        }
    }
}
