import AMQP
import MASHTesting
import Testing

@Suite("Dead-lettering to the DLQ")
struct DeadLetterTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.fromEnvironment() }

    @Test("a message nacked with requeue past the delivery limit lands in the DLQ, body and headers intact")
    func deliveryLimit() async throws {
        let connection = try await broker.connect("delivery limit")
        let scratch = try await ScratchQueue.declare(on: connection, "dlq", deliveryLimit: 3)
        let queue = scratch.name
        defer {
            Task {
                await scratch.remove(from: connection)
                await connection.close()
            }
        }
        let poison = testMessage("{\"not\": \"valid\"}", type: "enquiry", headers: ["x-mash-sender": "police"])
        try await connection.publish(poison, exchange: "", routingKey: queue)

        let deliveries = try await connection.consume(queue: queue, prefetch: 1)
        var attempts = 0
        for _ in 0..<4 {
            let delivery = try await deliveries.next(within: .seconds(10))
            #expect(delivery.properties.messageID == poison.properties.messageID)
            attempts += 1
            try delivery.nack(requeue: true)
        }
        #expect(attempts == 4)

        let dead = try await connection.consume(queue: queue + ".dlq", prefetch: 1)
        let letter = try await dead.next(within: .seconds(10), "the dead letter")
        #expect(letter.body == poison.body)
        #expect(letter.properties.messageID == poison.properties.messageID)
        #expect(letter.properties.type == "enquiry")
        #expect(letter.properties.headers["x-mash-sender"] == "police")
        #expect(letter.properties.headers["x-first-death-reason"]?.string == "delivery_limit")
        #expect(letter.properties.headers["x-first-death-queue"]?.string == queue)
        try letter.ack()
        #expect(try await connection.inspect(queue: queue).messageCount == 0)
    }

    @Test("a message rejected without requeue is dead-lettered at once with reason 'rejected'")
    func rejected() async throws {
        let connection = try await broker.connect("rejected")
        let scratch = try await ScratchQueue.declare(on: connection, "dlq")
        let queue = scratch.name
        defer {
            Task {
                await scratch.remove(from: connection)
                await connection.close()
            }
        }
        let message = testMessage("reject me", headers: ["x-mash-reason": "signature invalid"])
        try await connection.publish(message, exchange: "", routingKey: queue)
        let deliveries = try await connection.consume(queue: queue, prefetch: 1)
        try await deliveries.next(within: .seconds(10)).reject(requeue: false)

        let dead = try await connection.consume(queue: queue + ".dlq", prefetch: 1)
        let letter = try await dead.next(within: .seconds(10), "the dead letter")
        #expect(letter.body == message.body)
        #expect(letter.properties.headers["x-mash-reason"] == "signature invalid")
        #expect(letter.properties.headers["x-first-death-reason"]?.string == "rejected")
        let death = try #require(letter.properties.headers["x-death"]?.array?.first?.table)
        #expect(death["queue"]?.string == queue)
        try letter.ack()
    }
}
