import AMQP

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` if it has not finished within `limit`. Broker tests use it so that a
/// message that never arrives fails the test instead of hanging the run.
public func within<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TimedOut(what: what) }
        return value
    }
}

extension AsyncThrowingStream where Element == Delivery {
    /// The next delivery, or `TimedOut` after `limit`.
    public func next(within limit: Duration, _ what: String = "a delivery") async throws -> Delivery {
        let stream = self
        return try await within(limit, what) {
            var iterator = stream.makeAsyncIterator()
            guard let delivery = try await iterator.next() else { throw TimedOut(what: "\(what) (stream ended)") }
            return delivery
        }
    }
}

/// A published message with a fresh id, for tests.
public func testMessage(
    _ text: String, type: String = "test", headers: [String: AMQPValue] = [:]
) -> OutboundMessage {
    OutboundMessage(
        body: Array(text.utf8),
        properties: MessageProperties(
            messageID: TestNames.messageID(), type: type, contentType: "text/plain", headers: headers))
}
