import AMQP
import Foundation
import MASHTesting
import Testing

/// These tests stop the shared private node, so `make test` runs them on their own, after the other suites.
/// Every test here stops, kills or alarms the one node, so the suites run one after the other: an alarm set
/// while another suite restarts the node finds no broker to set it on.
@Suite("Broker outages", .serialized)
struct BrokerOutageTests {}

extension BrokerOutageTests {
    @Suite("Broker restart in the middle of a stream", .serialized)
    struct BrokerRestartTests {
        let broker: TestBroker

        init() throws { broker = try TestBroker.fromEnvironment() }

        @Test("graceful stop and start: the client recovers by itself and every confirmed message is consumed")
        func stopAndStart() async throws {
            try await streamThroughOutage { try broker.control("restart") }
        }

        @Test("kill -9 of the broker, then start: every confirmed message survives and is consumed")
        func crash() async throws {
            try await streamThroughOutage {
                try broker.control("kill")
                try broker.control("up")
            }
        }

        /// Publishes at a steady pace while a consumer acks. Once 300 messages are confirmed, `outage` takes the node
        /// away and brings it back; publishing goes on until 300 more are confirmed after that. Every publish must
        /// complete (waiting out the outage and being republished), and every confirmed id must be consumed.
        private func streamThroughOutage(_ outage: @escaping @Sendable () throws -> Void) async throws {
            let fastBackoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
            let publisher = try await broker.connect("restart publisher", heartbeatSeconds: 2, backoff: fastBackoff)
            let consumer = try await broker.connect("restart consumer", heartbeatSeconds: 2, backoff: fastBackoff)
            let queue = TestNames.queue("restart")
            try await publisher.declare(
                Topology(queues: [.quorum(queue, deliveryLimit: 50, deadLetterExchange: "mash.dlx")]))
            let deliveries = try await consumer.consume(queue: queue, prefetch: 50)
            // A quorum queue created moments before a kill -9 of a single node can come back without its Raft
            // member (RabbitMQ 3.10: "leader not known" for ever). The hub's queues exist long before any crash,
            // so the test crashes a queue that has settled, as the hub's would have.
            let settledAt = ContinuousClock.now + .seconds(2)

            let published = Locked([String]())
            let confirmed = Locked(Set<String>())
            let confirmedAfterOutage = Locked(0)
            let outageDone = Locked(false)

            let publishing = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    var i = 0
                    while confirmedAfterOutage.value < 300 {
                        let id = TestNames.messageID()
                        published.withLock { $0.append(id) }
                        let message = OutboundMessage(
                            body: Array(repeating: UInt8(i % 251), count: 1024),
                            properties: MessageProperties(messageID: id, type: "test"))
                        group.addTask {
                            try await publisher.publish(message, exchange: "", routingKey: queue)
                            confirmed.withLock { $0.insert(id) }
                            if outageDone.value { confirmedAfterOutage.withLock { $0 += 1 } }
                        }
                        i += 1
                        if i % 20 == 0 { try await Task.sleep(for: .milliseconds(10)) }
                    }
                    try await group.waitForAll()
                }
            }
            let disrupting = Task.detached {
                while confirmed.value.count < 300 || ContinuousClock.now < settledAt {
                    try await Task.sleep(for: .milliseconds(10))
                }
                try outage()
                outageDone.withLock { $0 = true }
            }

            try await within(.seconds(180), "the outage to start and end") { try await disrupting.value }
            try await within(.seconds(180), "publishing to finish after the outage") { try await publishing.value }
            let all = Set(published.value)
            let (seen, duplicates) = try await within(.seconds(180), "every confirmed message to be consumed") {
                var seen = Set<String>()
                var duplicates = 0
                var iterator = deliveries.makeAsyncIterator()
                while !all.isSubset(of: seen), let delivery = try await iterator.next() {
                    if !seen.insert(delivery.properties.messageID ?? "").inserted { duplicates += 1 }
                    // An ack for a delivery from before the reconnect is dropped; the broker delivers it again.
                    try delivery.ack()
                }
                return (seen, duplicates)
            }

            #expect(confirmed.value == all, "every publish was confirmed")
            #expect(seen == all, "every confirmed message was consumed")
            #expect(publisher.status.recoveries >= 1)
            #expect(consumer.status.recoveries >= 1)
            print(
                "outage test: \(all.count) messages confirmed and consumed, \(duplicates) delivered more than once, "
                    + "recoveries: publisher \(publisher.status.recoveries), consumer \(consumer.status.recoveries)")

            try? await publisher.delete(queue: queue)
            await publisher.close()
            await consumer.close()
        }
    }

}

extension BrokerOutageTests {
    @Suite("Broker resource alarms", .serialized)
    struct ResourceAlarmTests {
        let broker: TestBroker

        init() throws { broker = try TestBroker.fromEnvironment() }

        @Test("while the broker blocks publishers (memory alarm) publishes wait; after it lifts they are confirmed")
        func blockedConnection() async throws {
            let connection = try await broker.connect("blocked")
            let queue = TestNames.queue("blocked")
            try await connection.declare(
                Topology(queues: [Topology.Queue(name: queue, arguments: ["x-queue-type": "quorum"])]))

            try broker.control("ctl", "set_vm_memory_high_watermark", "0")
            let lifted = Locked(false)
            defer {
                if !lifted.value { try? broker.control("ctl", "set_vm_memory_high_watermark", "0.4") }
            }
            // connection.blocked arrives once we publish; the publish must not complete while the alarm holds.
            let confirmed = Locked(false)
            let publishing = Task {
                try await connection.publish(testMessage("held"), exchange: "", routingKey: queue)
                confirmed.withLock { $0 = true }
            }
            try await within(.seconds(20), "the broker to block the connection") {
                while !connection.status.isBlocked { try await Task.sleep(for: .milliseconds(50)) }
            }
            try await Task.sleep(for: .seconds(1))
            #expect(!confirmed.value, "a publish was confirmed while the broker blocked publishers")
            #expect(connection.status.isConnected)

            try broker.control("ctl", "set_vm_memory_high_watermark", "0.4")
            lifted.withLock { $0 = true }
            try await within(.seconds(30), "the publish to be confirmed after the alarm") { try await publishing.value }
            #expect(confirmed.value)
            #expect(!connection.status.isBlocked)
            #expect(try await connection.inspect(queue: queue).messageCount == 1)
            try await connection.delete(queue: queue)
            await connection.close()
        }
    }
}
