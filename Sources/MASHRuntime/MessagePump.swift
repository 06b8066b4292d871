import AMQP
import Foundation
import GRDB
import Logging
import MASHCore
import MASHService
import Sealing

/// A delivery opened and verified: who sent it, what it is, and its payload.
public struct InboundMessage: Sendable {
    public var delivery: Delivery
    public var opened: OpenedMessage

    public var queue: String { delivery.queue }
    /// The sealed content type (`cty`), e.g. `mash.research-response/1`.
    public var type: String { opened.type }
    public var sender: String { opened.sender }
    public var messageID: String { opened.messageID }
    public var payload: [UInt8] { opened.payload }
}

/// What a flow does with one message, inside the pump's write transaction (in a savepoint of its own): it
/// changes the store and returns the messages that change causes, which the pump puts in the outbox in the
/// same transaction. Throwing `Refusal` rolls back this message alone and dead-letters it with the reason.
public typealias MessageHandler = @Sendable (InboundMessage, any SQLDatabase) throws -> [OutboxMessage]

/// Takes a queue's deliveries in batches and gives each batch exactly one effect per message:
///
/// 1. opens and verifies every delivery (a failure is a `Refusal`: its sealing error code);
/// 2. in **one** write transaction, for each message in a savepoint of its own: remembers its id in the inbox
///    (a redelivery is acked with no effect), runs the handler, puts what it causes in the outbox; a refused
///    message rolls back alone;
/// 3. commits once (one fsync for the batch);
/// 4. dead-letters the refused (with the reason, confirmed by the broker) and acks the rest;
/// 5. hands the outbox messages to the relay.
///
/// Nothing is acked before the commit that holds its effect. A crash anywhere leaves the batch unacked, and
/// the broker delivers it again: what was committed is then recognised by the inbox.
public struct MessagePump: Sendable {
    public enum DeadLetters: Sendable {
        /// Publish a copy to `exchange` (routing key: the queue) with `x-mash-reason`, `x-mash-detail` and
        /// `x-mash-rejected-by` headers, then ack the original.
        case publish(exchange: String)
        /// Reject without requeue: the queue's own dead-letter exchange takes it, and RabbitMQ's x-death says
        /// only `rejected`. For parties whose broker user may not publish to the dead-letter exchange: `report`
        /// makes the `mash.refusal-report/1` that tells the hub why, committed to the outbox before the reject.
        case reject(report: @Sendable (RefusalReport) throws -> OutboxMessage)
    }

    public var queue: String
    public var prefetch: UInt16 = 64
    /// Who refuses (the `x-mash-rejected-by` header).
    public var identity: String
    public var deadLetters: DeadLetters
    public var handler: MessageHandler
    /// Whether a message's id is kept in the inbox; false for messages whose effect is idempotent anyway
    /// (heartbeats), so the inbox does not grow with them.
    public var deduplicates: @Sendable (InboundMessage) -> Bool = { _ in true }
    /// Called after a batch that handled at least one message has been committed and acked (to wake whoever
    /// works from what the handlers stored).
    public var afterCommit: (@Sendable () -> Void)?

    public init(
        queue: String, identity: String, deadLetters: DeadLetters, prefetch: UInt16 = 64,
        handler: @escaping MessageHandler
    ) {
        self.queue = queue
        self.identity = identity
        self.deadLetters = deadLetters
        self.prefetch = prefetch
        self.handler = handler
    }

    /// The runtime parts every pump of a service shares.
    public struct Context: Sendable {
        public var connection: AMQPConnection
        public var opener: @Sendable () -> Opener
        /// Reloads the partners' public keys when the key folder changed; true when something did. Called when
        /// a batch holds a message signed with a key not trusted yet (a partner onboarded or rotated since the
        /// last look), which is then opened again: the folder is not read for every batch.
        public var refreshKeys: (@Sendable () -> Bool)?
        public var relay: OutboxRelay
        public var logger: Logger
        public var metrics: ServiceMetrics
        public var now: @Sendable () -> Date

        public init(
            connection: AMQPConnection, opener: @escaping @Sendable () -> Opener,
            refreshKeys: (@Sendable () -> Bool)? = nil, relay: OutboxRelay, logger: Logger, metrics: ServiceMetrics,
            now: @escaping @Sendable () -> Date
        ) {
            self.connection = connection
            self.opener = opener
            self.refreshKeys = refreshKeys
            self.relay = relay
            self.logger = logger
            self.metrics = metrics
            self.now = now
        }
    }

    /// Starts the queue's consumer (call before saying the service is ready).
    public func consume(_ context: Context) async throws -> DeliveryBatches {
        try await context.connection.consumeBatches(queue: queue, prefetch: prefetch)
    }

    /// Processes batches until cancelled (or the consumer ends); the batch in hand is finished first.
    public func run(_ batches: DeliveryBatches, _ context: Context) async throws {
        defer { batches.cancel() }
        while let batch = try await batches.next() {
            try await process(batch, context)
        }
    }

    enum Fate {
        case refused(Refusal)
        case handled
        case duplicate
    }

    /// Processes one batch: see the type's documentation.
    public func process(_ batch: [Delivery], _ context: Context) async throws {
        let now = context.now()
        var fates = [Fate?](repeating: nil, count: batch.count)
        var inbound: [(Int, InboundMessage)] = []
        func open(_ indices: some Sequence<Int>, with opener: Opener) throws {
            for index in indices {
                do {
                    inbound.append(
                        (
                            index,
                            InboundMessage(delivery: batch[index], opened: try Self.open(batch[index], opener, now))
                        ))
                    fates[index] = nil
                } catch let refusal as Refusal {
                    fates[index] = .refused(refusal)
                }
            }
        }
        try open(batch.indices, with: context.opener())
        let untrusted = fates.indices.filter {
            if case .refused(let refusal)? = fates[$0] {
                refusal.reason == SealingError.Code.unknownKey.rawValue
            } else {
                false
            }
        }
        if !untrusted.isEmpty, let refreshKeys = context.refreshKeys, refreshKeys() {
            try open(untrusted, with: context.opener())
            inbound.sort { $0.0 < $1.0 }
        }
        let handler = self.handler
        let deduplicates = self.deduplicates
        let outbox = context.relay.outbox
        let toHandle = inbound
        let (handled, caused) = try await outbox.write(now: context.now) { db -> ([(Int, Fate)], [OutboxMessage]) in
            var handled: [(Int, Fate)] = []
            var caused: [OutboxMessage] = []
            for (index, message) in toHandle {
                do {
                    var messages: [OutboxMessage] = []
                    var duplicate = false
                    try db.inSavepoint {
                        if deduplicates(message) {
                            guard
                                try Inbox.remember(
                                    db, messageID: message.messageID, queue: message.queue,
                                    outcome: Inbox.outcome(of: message.type), now: now)
                            else {
                                duplicate = true
                                return .commit
                            }
                        }
                        messages = try handler(message, db)
                        try outbox.enqueue(db, messages, now: now)
                        return .commit
                    }
                    handled.append((index, duplicate ? .duplicate : .handled))
                    caused += messages
                } catch let refusal as Refusal {
                    handled.append((index, .refused(refusal)))
                } catch let error as SealingError {
                    // Sealing what the message causes failed (an addressee without a public key, say): it waits
                    // in the DLQ until the key is added and it is replayed. Anything else (the store failing)
                    // fails the batch, unacked, to be delivered again.
                    handled.append((index, .refused(Refusal(reason: "cannotSeal", detail: error.description))))
                }
            }
            return (handled, caused)
        }
        for (index, fate) in handled { fates[index] = fate }

        var refused: [(Delivery, Refusal)] = []
        for (delivery, fate) in zip(batch, fates) {
            if case .refused(let refusal)? = fate { refused.append((delivery, refusal)) }
        }
        try await deadLetter(refused, context)
        for (delivery, fate) in zip(batch, fates) {
            switch fate {
            case .handled?, .duplicate?:
                try delivery.ack()
                context.metrics.increment(
                    "mash_messages_received_total", [("queue", delivery.queue), ("outcome", "processed")])
            case .refused?, nil:
                break
            }
        }
        context.relay.submit(caused)
        if handled.contains(where: { if case .handled = $0.1 { true } else { false } }) { afterCommit?() }
    }

    /// Opens a delivery and checks its envelope: the AMQP message id must be the sealed `jti`, and the AMQP
    /// `type` the sealed `cty` (what routes and filters by `type` must see what the signature covers).
    static func open(_ delivery: Delivery, _ opener: Opener, _ now: Date) throws -> OpenedMessage {
        let opened: OpenedMessage
        do {
            opened = try opener.open(String(decoding: delivery.body, as: UTF8.self), now: now)
        } catch let error as SealingError {
            throw Refusal(reason: error.code.rawValue, detail: error.message)
        }
        guard delivery.properties.messageID == opened.messageID else {
            throw Refusal(reason: "messageIDMismatch", detail: "the AMQP message id is not the sealed jti")
        }
        guard delivery.properties.type == opened.type else {
            let type = delivery.properties.type.map { "'\($0.prefix(64))'" } ?? "missing"
            throw Refusal(
                reason: "unexpectedType", detail: "the AMQP type (\(type)) is not the sealed cty '\(opened.type)'")
        }
        return opened
    }

    private func deadLetter(_ refused: [(Delivery, Refusal)], _ context: Context) async throws {
        guard !refused.isEmpty else { return }
        for (delivery, refusal) in refused {
            context.logger.warning(
                "dead-lettered",
                metadata: [
                    "queue": "\(delivery.queue)", "message": "\(delivery.properties.messageID ?? "-")",
                    "reason": "\(refusal.reason)", "detail": "\(refusal.detail)",
                ])
        }
        switch deadLetters {
        case .publish(let exchange):
            let publications = refused.map { delivery, refusal in
                var properties = delivery.properties
                properties.headers["x-mash-reason"] = .string(refusal.reason)
                properties.headers["x-mash-detail"] = .string(refusal.detail)
                properties.headers["x-mash-rejected-by"] = .string(identity)
                if properties.messageID == nil { properties.messageID = UUID().uuidString.lowercased() }
                return Publication(
                    OutboundMessage(body: delivery.body, properties: properties), exchange: exchange,
                    routingKey: delivery.queue)
            }
            let outcomes = await context.connection.publish(batch: publications)
            if let failure = outcomes.lazy.compactMap({ $0 }).first { throw failure }
            for (delivery, _) in refused { try delivery.ack() }
        case .reject(let report):
            // The reports are committed before the rejects: a crash between the two redelivers the message, which
            // is refused and reported again (the hub keeps one report per party, queue and message).
            let now = context.now()
            let identity = self.identity
            // A report that cannot be sealed (no key for the hub) must not stop the rejects: the reason is
            // then in this party's log only, as before reports.
            let reports = refused.compactMap { delivery, refusal -> OutboxMessage? in
                do {
                    return try report(
                        RefusalReport(
                            party: identity, messageID: delivery.properties.messageID ?? "-", queue: delivery.queue,
                            type: delivery.properties.type, reason: refusal.reason, detail: refusal.detail,
                            refusedAt: now))
                } catch {
                    context.logger.error(
                        "the refusal report could not be sealed; the hub will see only 'rejected'",
                        metadata: ["message": "\(delivery.properties.messageID ?? "-")", "error": "\(error)"])
                    return nil
                }
            }
            let outbox = context.relay.outbox
            try await outbox.write(now: context.now) { db in try outbox.enqueue(db, reports, now: now) }
            for (delivery, _) in refused { try delivery.reject(requeue: false) }
            context.relay.submit(reports)
        }
        for (delivery, refusal) in refused {
            context.metrics.increment(
                "mash_messages_received_total", [("queue", delivery.queue), ("outcome", "dead-lettered")])
            context.metrics.increment("mash_failures_total", [("queue", delivery.queue), ("reason", refusal.reason)])
        }
    }
}
