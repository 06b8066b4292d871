import Synchronization

/// One message of `AMQPConnection.publish(batch:)`.
public struct Publication: Sendable {
    public var message: OutboundMessage
    public var exchange: String
    public var routingKey: String

    public init(_ message: OutboundMessage, exchange: String, routingKey: String) {
        self.message = message
        self.exchange = exchange
        self.routingKey = routingKey
    }
}

/// Collects the outcomes of a batch publish and resumes its caller once, when the last has settled.
final class BatchTally: Sendable {
    private struct State {
        var remaining: Int
        var outcomes: [(any Error)?]
        var continuation: CheckedContinuation<[(any Error)?], Never>?
    }
    private let state: Mutex<State>

    init(count: Int, continuation: CheckedContinuation<[(any Error)?], Never>) {
        state = Mutex(
            State(remaining: count, outcomes: Array(repeating: nil, count: count), continuation: continuation))
    }

    func settle(_ index: Int, _ error: (any Error)?) {
        let done = state.withLock { state -> (CheckedContinuation<[(any Error)?], Never>, [(any Error)?])? in
            state.remaining -= 1
            state.outcomes[index] = error
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.outcomes)
        }
        if let (continuation, outcomes) = done { continuation.resume(returning: outcomes) }
    }
}

/// A consumer's deliveries in batches (from `AMQPConnection.consumeBatches`). The connection's thread appends
/// what each read of the socket completed; `next()` takes everything buffered at once, or waits for the next
/// append. It ends (nil) when the connection closes, when the consumer is cancelled, or when the waiting task
/// is cancelled; it throws `consumerCancelled` when the broker cancels the consumer.
///
/// One task consumes it at a time. Stopping early: call `cancel()`; unsettled deliveries return to the queue
/// when the consumer's channel closes.
public final class DeliveryBatches: AsyncSequence, Sendable {
    public typealias Element = [Delivery]

    private struct State {
        var buffer: [Delivery] = []
        var ended = false
        var failure: (any Error)?
        var waiter: CheckedContinuation<[Delivery]?, any Error>?
        var cancelled = false
    }
    private let state = Mutex(State())
    private let onCancel: @Sendable () -> Void

    init(onCancel: @escaping @Sendable () -> Void) {
        self.onCancel = onCancel
    }

    func append(_ deliveries: [Delivery]) {
        let waiter = state.withLock { state -> (CheckedContinuation<[Delivery]?, any Error>, [Delivery])? in
            guard !state.ended else { return nil }
            state.buffer.append(contentsOf: deliveries)
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            defer { state.buffer.removeAll(keepingCapacity: true) }
            return (waiter, state.buffer)
        }
        if let (waiter, batch) = waiter { waiter.resume(returning: batch) }
    }

    func finish(throwing error: (any Error)?) {
        let waiter = state.withLock { state -> CheckedContinuation<[Delivery]?, any Error>? in
            guard !state.ended else { return nil }
            state.ended = true
            state.failure = error
            defer { state.waiter = nil }
            return state.buffer.isEmpty ? state.waiter : nil
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// Stops the consumer: the broker delivers nothing more to it, and `next()` ends.
    public func cancel() {
        let (first, waiter) = state.withLock { state -> (Bool, CheckedContinuation<[Delivery]?, any Error>?) in
            let first = !state.cancelled
            state.cancelled = true
            state.ended = true
            state.buffer.removeAll()
            defer { state.waiter = nil }
            return (first, state.waiter)
        }
        waiter?.resume(returning: nil)
        if first { onCancel() }
    }

    /// Every delivery buffered now, or the next ones to arrive; nil at the end.
    public func next() async throws -> [Delivery]? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Delivery]?, any Error>) in
                enum Now {
                    case batch([Delivery])
                    case end((any Error)?)
                    case wait
                }
                let now = state.withLock { state -> Now in
                    if !state.buffer.isEmpty {
                        defer { state.buffer.removeAll(keepingCapacity: true) }
                        return .batch(state.buffer)
                    }
                    if state.ended || state.cancelled { return .end(state.failure) }
                    state.waiter = continuation
                    return .wait
                }
                switch now {
                case .batch(let batch): continuation.resume(returning: batch)
                case .end(let error?): continuation.resume(throwing: error)
                case .end(nil): continuation.resume(returning: nil)
                case .wait: break
                }
            }
        } onCancel: {
            cancel()
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let batches: DeliveryBatches
        public mutating func next() async throws -> [Delivery]? { try await batches.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(batches: self) }
}

/// A consumer's deliveries one at a time (from `AMQPConnection.consume`): its `DeliveryBatches` taken apart
/// on the consuming side, so a busy queue still costs one wake-up of the consuming task per read of the
/// socket, not one per message. As with an `AsyncThrowingStream`, one task at a time iterates it (iterators
/// made one after another share what is buffered), and the consumer is cancelled when the sequence and its
/// iterators are all gone: leaving a `for` loop over a sequence held nowhere else stops it.
public struct Deliveries: AsyncSequence, Sendable {
    public typealias Element = Delivery

    final class Consumer: Sendable {
        let batches: DeliveryBatches
        /// The batch being handed out and the position of the next delivery in it.
        private let taken = Mutex<(batch: [Delivery], next: Int)>(([], 0))

        init(_ batches: DeliveryBatches) { self.batches = batches }
        deinit { batches.cancel() }

        func takeBuffered() -> Delivery? {
            taken.withLock { taken in
                guard taken.next < taken.batch.count else { return nil }
                defer { taken.next += 1 }
                return taken.batch[taken.next]
            }
        }

        func keep(_ batch: [Delivery]) {
            taken.withLock { $0 = (batch, 0) }
        }
    }

    private let consumer: Consumer

    init(_ batches: DeliveryBatches) {
        consumer = Consumer(batches)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: Consumer

        public mutating func next() async throws -> Delivery? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's actor, so a delivery already taken from the connection costs no hop between
        /// executors; only waiting for the next batch leaves it.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(any Error) -> Delivery? {
            while true {
                if let delivery = consumer.takeBuffered() { return delivery }
                guard let batch = try await consumer.batches.next() else { return nil }
                consumer.keep(batch)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(consumer: consumer) }
}
