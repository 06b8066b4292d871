import AMQP

/// A quorum queue and its dead-letter queue for one test, shaped like the hub's input queues: delivery
/// limit, at-least-once dead-lettering through `mash.dlx` to `<name>.dlq`.
public struct ScratchQueue: Sendable {
    public let name: String
    public var deadLetters: String { name + ".dlq" }

    public static func declare(on connection: AMQPConnection, _ purpose: String, deliveryLimit: Int = 5)
        async throws -> ScratchQueue
    {
        let name = TestNames.queue(purpose)
        try await connection.declare(
            Topology(
                queues: [
                    .quorum(name, deliveryLimit: deliveryLimit, deadLetterExchange: "mash.dlx"),
                    .deadLetters(of: name),
                ],
                bindings: [Topology.Binding(exchange: "mash.dlx", queue: name + ".dlq", routingKey: name)]))
        return ScratchQueue(name: name)
    }

    /// Deletes both queues; failures are ignored (the test node is wiped at the next `make test` anyway).
    public func remove(from connection: AMQPConnection) async {
        try? await connection.delete(queue: name)
        try? await connection.delete(queue: deadLetters)
    }
}
