import AMQP
import Foundation
import MASHTesting
import Testing

@Suite("Connections: failures, heartbeats, recovery")
struct ConnectionTests {
    let broker: TestBroker

    init() throws { broker = try TestBroker.fromEnvironment() }

    @Test("an unreachable broker is an error at once, not a skip or a hang")
    func unreachable() async throws {
        // A port nothing listens on: bind one, close it, and use it.
        var url = try AMQPURL(broker.url)
        url.port = 1
        await #expect {
            try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test unreachable"))
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .connectionFailed && error?.message.contains("127.0.0.1:1") == true
        }
    }

    @Test("a wrong password is reported as an authentication failure naming the user")
    func wrongPassword() async throws {
        var url = try AMQPURL(broker.url)
        url.password = "not-the-password"
        await #expect {
            try await AMQPConnection.connect(AMQPConfiguration(url: url, connectionName: "test bad password"))
        } throws: { error in
            let error = error as? AMQPError
            return error?.code == .authenticationFailed && error?.message.contains(url.user) == true
                && error?.message.contains("not-the-password") == false
        }
    }

    @Test("an idle connection with a 1 s heartbeat survives five intervals without reconnecting")
    func heartbeats() async throws {
        let connection = try await broker.connect("heartbeat", heartbeatSeconds: 1)
        defer { Task { await connection.close() } }
        #expect(connection.status.heartbeatSeconds == 1)
        try await Task.sleep(for: .seconds(5))
        #expect(connection.status.isConnected)
        #expect(connection.status.recoveries == 0)
        let queue = TestNames.queue("heartbeat")
        try await connection.declare(
            Topology(queues: [Topology.Queue(name: queue, arguments: ["x-queue-type": "quorum"])]))
        try await connection.publish(testMessage("awake"), exchange: "", routingKey: queue)
        #expect(try await connection.inspect(queue: queue).messageCount == 1)
        try await connection.delete(queue: queue)
        #expect(connection.status.recoveries == 0)
    }

    @Test("after a dropped connection the client reconnects, re-consumes and republishes; nothing confirmed is lost")
    func droppedConnection() async throws {
        let connection = try await broker.connect(
            "dropped", backoff: Backoff(initial: .milliseconds(50), maximum: .milliseconds(500)))
        let queue = TestNames.queue("dropped")
        try await connection.declare(
            Topology(queues: [.quorum(queue, deliveryLimit: 20, deadLetterExchange: "mash.dlx")]))
        defer {
            Task {
                try? await connection.delete(queue: queue)
                await connection.close()
            }
        }
        let deliveries = try await connection.consume(queue: queue, prefetch: 20)
        let total = 400
        let ids = (0..<total).map { _ in TestNames.messageID() }

        let publisher = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (i, id) in ids.enumerated() {
                    let message = OutboundMessage(
                        body: Array("n\(i)".utf8), properties: MessageProperties(messageID: id, type: "test"))
                    group.addTask { try await connection.publish(message, exchange: "", routingKey: queue) }
                    if i == total / 2 { await connection.simulateConnectionFailure() }
                    if i % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                }
                try await group.waitForAll()
            }
        }
        var seen = Set<String>()
        try await within(.seconds(60), "every message after the reconnect") {
            var iterator = deliveries.makeAsyncIterator()
            var local = Set<String>()
            while local.count < total, let delivery = try await iterator.next() {
                local.insert(delivery.properties.messageID ?? "")
                try delivery.ack()
            }
            return local
        }.forEach { seen.insert($0) }
        try await publisher.value
        #expect(seen == Set(ids))
        #expect(connection.status.recoveries >= 1)
        #expect(connection.status.isConnected)
    }
}

@Suite("Leaving a delivery loop")
struct ConsumerEndTests {
    @Test("breaking out of a one-at-a-time loop cancels the consumer; what was buffered and not acked goes back")
    func leavingTheLoop() async throws {
        let broker = try TestBroker.fromEnvironment()
        let connection = try await broker.connect("leaving the loop")
        defer { Task { await connection.close() } }
        let scratch = try await ScratchQueue.declare(on: connection, "leaving")
        let total = 30
        for i in 0..<total {
            try await connection.publish(
                OutboundMessage(body: Array("n\(i)".utf8), properties: MessageProperties(messageID: "m\(i)")),
                exchange: "", routingKey: scratch.name)
        }
        try await eventually("the queue holds every message") {
            try await connection.inspect(queue: scratch.name).messageCount == total
        }
        var acked = 0
        for try await delivery in try await connection.consume(queue: scratch.name, prefetch: 20) {
            try delivery.ack()
            acked += 1
            if acked == 5 { break }
        }
        // Up to 20 were delivered to the consumer; five acked, the rest return when it is cancelled.
        try await eventually("the consumer gone and the unacked back in the queue") {
            let state = try await connection.inspect(queue: scratch.name)
            return state.consumerCount == 0 && state.messageCount == total - 5
        }
        try? await connection.delete(queue: scratch.deadLetters)
    }
}

@Suite("Broker-initiated cancellation")
struct ConsumerCancelTests {
    @Test("deleting a queue under a consumer ends its delivery stream with consumerCancelled")
    func queueDeleted() async throws {
        let broker = try TestBroker.fromEnvironment()
        let connection = try await broker.connect("consumer cancel")
        let observer = try await broker.connect("consumer cancel observer")
        defer {
            Task {
                await connection.close()
                await observer.close()
            }
        }
        let scratch = try await ScratchQueue.declare(on: connection, "cancelled")
        let deliveries = try await connection.consume(queue: scratch.name)
        try await observer.delete(queue: scratch.name)
        try await within(.seconds(10), "the stream to end") {
            do {
                for try await _ in deliveries {}
                Issue.record("the stream ended without an error")
            } catch let error as AMQPError {
                #expect(error.code == .consumerCancelled)
                #expect(error.message.contains(scratch.name))
            }
        }
        #expect(connection.status.isConnected)
        try? await observer.delete(queue: scratch.deadLetters)
    }
}
