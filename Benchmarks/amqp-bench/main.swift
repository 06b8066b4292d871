import AMQP
import Foundation

// The gateway side of `make bench`: the same work as amqp-raw-bench, through the AMQP module — publish COUNT
// persistent 1 KiB messages with confirms (window WINDOW) to a quorum queue, then consume them with prefetch
// WINDOW, acking each, in batches as the message pump takes them; then publish them again and consume them one
// at a time. Prints one JSON line: {"publish_per_s": ..., "consume_per_s": ..., "consume_one_by_one_per_s": ...}.

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[3]), let window = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: amqp-bench AMQP_URL QUEUE COUNT WINDOW\n".utf8))
    exit(2)
}
let queue = arguments[2]

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let configuration = AMQPConfiguration(
    url: try AMQPURL(arguments[1]), connectionName: "amqp-bench", confirmWindow: window)
let connection = try await AMQPConnection.connect(configuration)
try await connection.declare(Topology(queues: [Topology.Queue(name: queue, arguments: ["x-queue-type": "quorum"])]))

let body = [UInt8](repeating: UInt8(ascii: "x"), count: 1024)

/// Publishes `count` messages with confirms, keeping about two windows queued so the connection's window never
/// runs dry; returns the seconds taken.
func publishAll() async throws -> Double {
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        var inFlight = 0
        for i in 0..<count {
            if inFlight >= window * 2 {
                try await group.next()
                inFlight -= 1
            }
            let message = OutboundMessage(body: body, properties: MessageProperties(messageID: "m\(i)"))
            group.addTask { try await connection.publish(message, exchange: "", routingKey: queue) }
            inFlight += 1
        }
        try await group.waitForAll()
    }
    return seconds(ContinuousClock.now - start)
}

let publishSeconds = try await publishAll()

// The pump's way: every delivery buffered per read of the socket at once, each acked (the acks coalesced).
var consumeStart = ContinuousClock.now
let batches = try await connection.consumeBatches(queue: queue, prefetch: UInt16(window))
var received = 0
for try await batch in batches {
    for delivery in batch { try delivery.ack() }
    received += batch.count
    if received >= count { break }
}
batches.cancel()
let consumeSeconds = seconds(ContinuousClock.now - consumeStart)

// One delivery at a time, as a command-line tool or a test reads a queue.
_ = try await publishAll()
consumeStart = ContinuousClock.now
received = 0
for try await delivery in try await connection.consume(queue: queue, prefetch: UInt16(window)) {
    try delivery.ack()
    received += 1
    if received == count { break }
}
let oneByOneSeconds = seconds(ContinuousClock.now - consumeStart)

try await connection.delete(queue: queue)
await connection.close()
print(
    "{\"publish_per_s\": \(String(format: "%.1f", Double(count) / publishSeconds)), "
        + "\"consume_per_s\": \(String(format: "%.1f", Double(count) / consumeSeconds)), "
        + "\"consume_one_by_one_per_s\": \(String(format: "%.1f", Double(count) / oneByOneSeconds))}")
