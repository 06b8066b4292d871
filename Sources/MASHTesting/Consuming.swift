import AMQP

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting for \(what)" }
}

/// Runs `body`, failing with `TimedOut` if it has not finished within `limit`. Broker tests use it so that a
/// message that never arrives fails the test instead of hanging the run. On time-out the work is cancelled
/// but not awaited: work that ignores cancellation (a blocking call) cannot hold the test hostage.
public func within<T: Sendable>(
    _ limit: Duration, _ what: String, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let settled = Locked(false)
    let claim: @Sendable () -> Bool = {
        settled.withLock { was in
            defer { was = true }; return !was
        }
    }
    let tasks = Locked<(work: Task<Void, Never>?, timer: Task<Void, Never>?)>((nil, nil))
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let work = Task {
            do {
                let value = try await body()
                if claim() { continuation.resume(returning: value) }
            } catch {
                if claim() { continuation.resume(throwing: error) }
            }
            tasks.value.timer?.cancel()
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            if !Task.isCancelled, claim() {
                continuation.resume(throwing: TimedOut(what: what))
                tasks.value.work?.cancel()
            }
        }
        tasks.withLock { $0 = (work, timer) }
    }
}

extension Deliveries {
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

/// Waits until `condition` holds, looking again every 50 ms, failing with `TimedOut` after `limit`. Every
/// broker test waits on a condition this way, never on a fixed sleep.
public func eventually(
    _ what: String, within limit: Duration = .seconds(30), _ condition: @escaping @Sendable () async throws -> Bool
) async throws {
    try await within(limit, what) {
        while try await !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }
}
