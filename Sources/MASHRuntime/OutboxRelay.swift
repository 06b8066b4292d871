import AMQP
import Foundation
import Logging
import MASHService
import Synchronization

/// Publishes the outbox: what a commit hands it at once (`submit`), and every few seconds whatever is still
/// unpublished (a publish cut short by a failure, or messages committed before a crash). It publishes in
/// batches, in commit order, waits for the broker's confirms and tells the outbox, which marks them with the
/// store's next write.
///
/// A publish the broker refuses (no queue bound, say) is logged and left in the outbox to be tried again;
/// it does not stop the service, whose other flows go on.
public final class OutboxRelay: Sendable {
    public let outbox: Outbox
    let connection: AMQPConnection
    let appID: String
    let logger: Logger
    let metrics: ServiceMetrics
    let now: @Sendable () -> Date
    /// How old an unpublished row must be before the sweep publishes it (younger ones are in hand).
    let sweepAge: TimeInterval

    private struct State {
        var submitted: [OutboxMessage] = []
        /// Message ids handed over but not yet confirmed: the sweep leaves them alone.
        var inFlight: Set<String> = []
    }
    private let state = Mutex(State())
    private let doorbell = Doorbell()

    public init(
        outbox: Outbox, connection: AMQPConnection, appID: String, logger: Logger, metrics: ServiceMetrics,
        now: @escaping @Sendable () -> Date, sweepAge: TimeInterval = 5
    ) {
        self.outbox = outbox
        self.connection = connection
        self.appID = appID
        self.logger = logger
        self.metrics = metrics
        self.now = now
        self.sweepAge = sweepAge
    }

    /// Messages just committed: published by the relay's task as soon as it is free.
    public func submit(_ messages: [OutboxMessage]) {
        guard !messages.isEmpty else { return }
        state.withLock { state in
            state.submitted += messages
            for message in messages { state.inFlight.insert(message.messageID) }
        }
        doorbell.ring()
    }

    /// Publishes everything unpublished, whatever its age, until the outbox is empty (at start and at stop).
    /// It runs to the end even when the calling task is cancelled (a stopping service still flushes).
    public func drain() async throws {
        try await Task {
            try await settleMarks()
            while true {
                let pending = try await outbox.pending(createdBefore: nil)
                guard !pending.isEmpty else { break }
                try await publish(pending)
                try await settleMarks()
            }
        }.value
    }

    /// Runs until cancelled, then publishes what was handed to it and what the outbox still holds.
    public func run() async throws {
        var lastSweep = ContinuousClock.now
        while !Task.isCancelled {
            let batch = await nextSubmitted(within: .seconds(1))
            if !batch.isEmpty { await publishLogging(batch) }
            if ContinuousClock.now - lastSweep >= .seconds(1) {
                lastSweep = ContinuousClock.now
                await sweep()
            }
        }
        let rest = takeSubmitted()
        if !rest.isEmpty { await publishLogging(rest) }
        try await drain()
    }

    private func sweep() async {
        do {
            try await settleMarks()
            let cutoff = now().addingTimeInterval(-sweepAge)
            let inFlight = state.withLock { $0.inFlight }
            let stale = try await outbox.pending(createdBefore: cutoff).filter { !inFlight.contains($0.messageID) }
            if !stale.isEmpty { await publishLogging(stale) }
            try await settleMarks()
        } catch is CancellationError {
            // Stopping: `run` drains what is left.
        } catch {
            logger.error("outbox sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Writes the marks of confirmed messages when no other write has carried them for a while.
    private func settleMarks() async throws {
        guard outbox.hasUnsettledConfirms else { return }
        let now = self.now
        try await outbox.write(now: now) { _ in }
    }

    private func nextSubmitted(within limit: Duration) async -> [OutboxMessage] {
        if case let taken = takeSubmitted(), !taken.isEmpty { return taken }
        await doorbell.wait(upTo: limit)
        return takeSubmitted()
    }

    private func takeSubmitted() -> [OutboxMessage] {
        state.withLock { state in
            defer { state.submitted = [] }
            return state.submitted
        }
    }

    private func publishLogging(_ messages: [OutboxMessage]) async {
        do {
            try await publish(messages)
        } catch {
            logger.error(
                "outbox publish failed; the messages stay in the outbox and are tried again",
                metadata: ["error": "\(error)", "messages": "\(messages.count)"])
        }
    }

    /// Publishes `messages` in order; every message the broker confirmed is marked, even when others failed,
    /// and the first failure is thrown after.
    public func publish(_ messages: [OutboxMessage]) async throws {
        guard !messages.isEmpty else { return }
        let stamp = now()
        let publications = messages.map { $0.publication(appID: appID, at: stamp) }
        let outcomes = await connection.publish(batch: publications)
        var confirmed: [String] = []
        for (message, outcome) in zip(messages, outcomes) where outcome == nil {
            confirmed.append(message.messageID)
            metrics.increment(
                "mash_messages_published_total", [("exchange", message.exchange), ("type", message.type)])
        }
        outbox.confirm(confirmed)
        state.withLock { state in for message in messages { state.inFlight.remove(message.messageID) } }
        if let failure = outcomes.lazy.compactMap({ $0 }).first { throw failure }
    }
}
