import AMQP
import MASHTesting
import Testing

@Suite("Publish and consume against the private node")
struct RoundTripTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.fromEnvironment() }

    @Test("persistent messages round-trip with confirms and acks, properties and headers intact")
    func roundTrip() async throws {
        let connection = try await broker.connect("round trip")
        let scratch = try await ScratchQueue.declare(on: connection, "roundtrip")
        let queue = scratch.name
        defer {
            Task {
                await scratch.remove(from: connection)
                await connection.close()
            }
        }

        let sent = (0..<50).map {
            testMessage("message \($0)", headers: ["x-mash-sequence": .int(Int64($0)), "x-mash-rag": "red"])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in sent {
                group.addTask { try await connection.publish(message, exchange: "", routingKey: queue) }
            }
            try await group.waitForAll()
        }
        #expect(try await connection.inspect(queue: queue).messageCount == 50)

        let deliveries = try await connection.consume(queue: queue, prefetch: 10)
        var received: [String: Delivery] = [:]
        for _ in 0..<50 {
            let delivery = try await deliveries.next(within: .seconds(10))
            received[delivery.properties.messageID ?? ""] = delivery
            try delivery.ack()
        }
        for message in sent {
            let delivery = try #require(received[message.properties.messageID!])
            #expect(delivery.body == message.body)
            #expect(delivery.properties.persistent)
            #expect(delivery.properties.type == "test")
            #expect(delivery.properties.contentType == "text/plain")
            #expect(delivery.properties.headers["x-mash-sequence"] == message.properties.headers["x-mash-sequence"])
            #expect(delivery.properties.headers["x-mash-rag"] == "red")
            #expect(!delivery.redelivered)
        }
        try await within(.seconds(10), "the queue to drain") {
            while try await connection.inspect(queue: queue).messageCount != 0 {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    @Test("an ack followed at once by the end of the consumer still reaches the broker (nothing requeued)")
    func ackThenStop() async throws {
        let connection = try await broker.connect("ack then stop")
        let scratch = try await ScratchQueue.declare(on: connection, "ack-then-stop")
        defer {
            Task {
                await scratch.remove(from: connection)
                await connection.close()
            }
        }
        for round in 0..<20 {
            // The last round's consumer gone first: a message the broker hands to a consumer being cancelled
            // comes back marked redelivered by design, which is not the lost ack this test looks for.
            try await eventually("round \(round - 1)'s consumer to be cancelled", within: .seconds(10)) {
                try await connection.inspect(queue: scratch.name).consumerCount == 0
            }
            try await connection.publish(testMessage("round \(round)"), exchange: "", routingKey: scratch.name)
            // Each round consumes one message, acks it and drops the stream at once, so the ack and the
            // consumer's cancel reach the connection thread together.
            let deliveries = try await connection.consume(queue: scratch.name, prefetch: 10)
            let delivery = try await deliveries.next(within: .seconds(10))
            #expect(!delivery.redelivered, "round \(round) saw an acked message again")
            #expect(delivery.body == Array("round \(round)".utf8), "round \(round) saw an earlier round's message")
            try delivery.ack()
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await connection.inspect(queue: scratch.name).messageCount == 0)
    }

    @Test("a mandatory publish that no queue accepts fails as unroutable")
    func unroutable() async throws {
        let connection = try await broker.connect("unroutable")
        defer { Task { await connection.close() } }
        await #expect {
            try await connection.publish(testMessage("nowhere"), exchange: "", routingKey: TestNames.queue("absent"))
        } throws: { error in
            (error as? AMQPError)?.code == .unroutable && (error as? AMQPError)?.replyCode == 312
        }
        // The connection and its publish channel are still usable.
        let scratch = try await ScratchQueue.declare(on: connection, "after-return")
        try await connection.publish(testMessage("still fine"), exchange: "", routingKey: scratch.name)
        await scratch.remove(from: connection)
    }

    @Test("publishing to a missing exchange fails with notFound and the channel recovers")
    func missingExchange() async throws {
        let connection = try await broker.connect("missing exchange")
        let scratch = try await ScratchQueue.declare(on: connection, "after-404")
        let queue = scratch.name
        defer {
            Task {
                await scratch.remove(from: connection)
                await connection.close()
            }
        }
        await #expect {
            try await connection.publish(testMessage("x"), exchange: "mash.no-such-exchange", routingKey: "k")
        } throws: { error in
            (error as? AMQPError)?.code == .notFound
        }
        try await connection.publish(testMessage("after"), exchange: "", routingKey: queue)
        #expect(try await connection.inspect(queue: queue).messageCount == 1)
        #expect(connection.status.recoveries == 0)
    }

    @Test("a message without a message id is refused before it is sent")
    func messageIDRequired() async throws {
        let connection = try await broker.connect("no id")
        defer { Task { await connection.close() } }
        await #expect {
            try await connection.publish(
                OutboundMessage(body: [1], properties: MessageProperties()), exchange: "", routingKey: "q")
        } throws: { error in
            (error as? AMQPError)?.code == .invalidMessage
        }
    }

    @Test("the topology from the definitions file declares idempotently; a conflicting argument is refused")
    func idempotentTopology() async throws {
        let connection = try await broker.connect("topology")
        defer { Task { await connection.close() } }
        let hub = try Topology(
            rabbitMQDefinitionsFile: Repository.path("deploy/rabbitmq/definitions.json"), vhost: "mash")
        try await connection.declare(hub)
        try await connection.declare(hub)

        let conflicting = Topology.Queue.quorum(
            "agency.police.enquiries", deliveryLimit: 99, deadLetterExchange: "mash.dlx")
        await #expect {
            try await connection.declare(Topology(queues: [conflicting]))
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .preconditionFailed && error?.message.contains("agency.police.enquiries") == true
        }
        // The control channel was reopened: the next call works.
        #expect(try await connection.inspect(queue: "agency.police.enquiries").name == "agency.police.enquiries")
        await #expect {
            try await connection.inspect(queue: TestNames.queue("absent"))
        } throws: { error in
            (error as? AMQPError)?.code == .notFound
        }
    }
}
