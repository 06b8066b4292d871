import Foundation
import Logging
import Synchronization

public struct AMQPConfiguration: Sendable {
    public var url: AMQPURL
    /// Shown by the broker (`rabbitmqctl list_connections client_properties`), so operators can tell services apart.
    public var connectionName: String
    /// Proposed heartbeat; the broker may lower it. From the URL's `heartbeat` option when it has one.
    public var heartbeatSeconds: Int
    public var connectTimeout: Duration
    /// How long a declare, consume or other synchronous call may wait for the broker's reply.
    public var rpcTimeout: Duration
    /// Publishes written to the broker and not yet confirmed, at most. Further publishes wait their turn.
    public var confirmWindow: Int
    public var backoff: Backoff

    public init(
        url: AMQPURL, connectionName: String, heartbeatSeconds: Int? = nil, connectTimeout: Duration? = nil,
        rpcTimeout: Duration = .seconds(30), confirmWindow: Int = 256, backoff: Backoff = Backoff()
    ) {
        self.url = url
        self.connectionName = connectionName
        self.heartbeatSeconds = heartbeatSeconds ?? url.heartbeatSeconds ?? 30
        self.connectTimeout =
            connectTimeout ?? url.connectionTimeoutMilliseconds.map { .milliseconds($0) } ?? .seconds(10)
        self.rpcTimeout = rpcTimeout
        self.confirmWindow = confirmWindow
        self.backoff = backoff
    }

    public init(url: String, connectionName: String) throws {
        self.init(url: try AMQPURL(url), connectionName: connectionName)
    }
}

public struct ConnectionStatus: Sendable, Equatable {
    public var isConnected = false
    /// How many times the connection has been re-established after a failure.
    public var recoveries = 0
    /// The broker has paused our publishing (memory or disk alarm).
    public var isBlocked = false
    public var heartbeatSeconds = 0
    public var lastError: AMQPError?
}

/// A connection to RabbitMQ, safe to share between tasks. A dedicated thread owns the underlying rabbitmq-c
/// connection and every channel on it; the methods here post work to that thread and await the outcome.
///
/// Once connected it stays connected: after a dropped connection or a broker restart it reconnects with
/// backoff, declares again the topology declared through it, restarts its consumers and republishes every
/// message not yet confirmed. Publishes made during the outage wait and are sent after recovery, so
/// `publish` returns only when the broker has taken responsibility for the message.
///
/// Call `close()` when done: the thread runs until then.
public final class AMQPConnection: Sendable {
    public let configuration: AMQPConfiguration
    private let mailbox = Mailbox()
    private let statusBox = StatusBox()
    private let nextConsumerID = Atomic<Int>(1)
    private let logger: Logger

    private init(configuration: AMQPConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Connects once, without retrying: an unreachable broker, a refused login or a failed TLS handshake is
    /// thrown at once as an `AMQPError` naming the endpoint.
    public static func connect(
        _ configuration: AMQPConfiguration, logger: Logger = Logger(label: "mash.amqp")
    ) async throws -> AMQPConnection {
        let connection = AMQPConnection(configuration: configuration, logger: logger)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let thread = Thread { [connection] in
                let driver = ConnectionDriver(
                    configuration: configuration, mailbox: connection.mailbox, status: connection.statusBox,
                    owner: connection, logger: logger)
                do {
                    try driver.start()
                } catch {
                    _ = connection.mailbox.finish()
                    continuation.resume(throwing: error)
                    return
                }
                continuation.resume()
                driver.run()
            }
            thread.name = "amqp \(configuration.connectionName)"
            thread.start()
        }
        return connection
    }

    public static func connect(url: String, connectionName: String) async throws -> AMQPConnection {
        try await connect(AMQPConfiguration(url: url, connectionName: connectionName))
    }

    public var status: ConnectionStatus { statusBox.read() }

    /// Declares exchanges, queues and bindings; they are declared again after every reconnect.
    public func declare(_ topology: Topology) async throws {
        try await call { .declare(topology, remember: true, $0) }
    }

    /// Publishes with `mandatory` set and waits for the broker's confirm. Throws `unroutable` when no queue
    /// took the message, `publishNacked` when the broker refused responsibility, and a channel error (for
    /// example `accessRefused`, `notFound`) when the broker closed the channel over this or a concurrent publish.
    public func publish(_ message: OutboundMessage, exchange: String, routingKey: String) async throws {
        guard let id = message.properties.messageID, !id.isEmpty else {
            throw AMQPError(.invalidMessage, "a message needs a message id (publish to '\(exchange)')")
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let publish = PendingPublish(
                message: message, exchange: exchange, routingKey: routingKey,
                complete: { error in
                    if let error { continuation.resume(throwing: error) } else { continuation.resume() }
                })
            if !mailbox.post(.publish(publish)) {
                continuation.resume(throwing: AMQPError(.closedByClient, "the connection is closed"))
            }
        }
    }

    /// Publishes `batch` in its order (all on one channel, so the broker keeps that order) and returns, once
    /// every message has settled, each one's outcome: nil when the broker confirmed it, else why not (as
    /// `publish(_:exchange:routingKey:)` would have thrown). Each message is confirmed or refused on its own.
    public func publish(batch: [Publication]) async -> [(any Error)?] {
        guard !batch.isEmpty else { return [] }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[(any Error)?], Never>) in
            let tally = BatchTally(count: batch.count, continuation: continuation)
            for (index, publication) in batch.enumerated() {
                guard let id = publication.message.properties.messageID, !id.isEmpty else {
                    tally.settle(
                        index,
                        AMQPError(
                            .invalidMessage, "a message needs a message id (publish to '\(publication.exchange)')"))
                    continue
                }
                let publish = PendingPublish(
                    message: publication.message, exchange: publication.exchange,
                    routingKey: publication.routingKey, complete: { tally.settle(index, $0) })
                if !mailbox.post(.publish(publish)) {
                    tally.settle(index, AMQPError(.closedByClient, "the connection is closed"))
                }
            }
        }
    }

    /// Starts a consumer like `consume(queue:prefetch:)`, whose deliveries come in batches: each `next()`
    /// returns every delivery that has arrived since the last, so a consumer that commits per batch commits
    /// less often the busier the queue is. A batch holds at most `prefetch` deliveries.
    public func consumeBatches(queue: String, prefetch: UInt16 = 64) async throws -> DeliveryBatches {
        let id = nextConsumerID.add(1, ordering: .relaxed).oldValue
        let mailbox = self.mailbox
        let batches = DeliveryBatches(onCancel: { _ = mailbox.post(.cancel(consumerID: id)) })
        try await call { .consume(ConsumerRequest(id: id, queue: queue, prefetch: prefetch, sink: batches), $0) }
        return batches
    }

    /// Starts a consumer with manual acknowledgement and `prefetch` unacknowledged deliveries at most.
    /// The sequence survives reconnects (deliveries from before one can no longer be settled: they are
    /// redelivered); it ends with `consumerCancelled` if the broker cancels the consumer, and ends normally
    /// when the connection is closed. Stopping the iteration cancels the consumer.
    public func consume(queue: String, prefetch: UInt16 = 32) async throws -> Deliveries {
        Deliveries(try await consumeBatches(queue: queue, prefetch: prefetch))
    }

    /// The number of ready messages and consumers of a queue (a passive declare); `notFound` if it does not exist.
    public func inspect(queue: String) async throws -> QueueState {
        try await withCheckedThrowingContinuation { continuation in
            if !mailbox.post(.inspect(queue: queue, continuation)) {
                continuation.resume(throwing: AMQPError(.closedByClient, "the connection is closed"))
            }
        }
    }

    public func delete(queue: String) async throws {
        try await call { .delete(queue: queue, $0) }
    }

    public func purge(queue: String) async throws {
        try await call { .purge(queue: queue, $0) }
    }

    func settle(_ delivery: Delivery, _ settlement: Settlement) throws {
        let command = Command.settle(
            consumerID: delivery.consumerID, incarnation: delivery.channelIncarnation,
            deliveryTag: delivery.deliveryTag, settlement)
        guard mailbox.post(command) else { throw AMQPError(.closedByClient, "the connection is closed") }
    }

    /// Drops the TCP connection as a network failure would, to exercise recovery. For tests.
    public func simulateConnectionFailure() async {
        await withCheckedContinuation { continuation in
            if !mailbox.post(.dropConnection(continuation)) { continuation.resume() }
        }
    }

    /// Stops taking new work, waits for publishes already made to be confirmed, closes the connection politely
    /// and ends every consumer's sequence. Safe to call more than once.
    public func close() async {
        mailbox.shut()
        await withCheckedContinuation { continuation in
            if !mailbox.postClose(.close(continuation)) { continuation.resume() }
        }
    }

    private func call(_ make: (CheckedContinuation<Void, any Error>) -> Command) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if !mailbox.post(make(continuation)) {
                continuation.resume(throwing: AMQPError(.closedByClient, "the connection is closed"))
            }
        }
    }
}

/// The connection's status, written by its thread and read by anyone.
final class StatusBox: Sendable {
    private let mutex = Mutex(ConnectionStatus())

    func read() -> ConnectionStatus { mutex.withLock { $0 } }

    func withLock<T>(_ body: (inout ConnectionStatus) -> T) -> T { mutex.withLock { body(&$0) } }
}
