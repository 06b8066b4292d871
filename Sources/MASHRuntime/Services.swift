import AMQP
import Foundation
import Logging
import MASHService
import Sealing
import ServiceLifecycle
import Synchronization
import UnixSignals

/// A value one service makes and others wait for: the broker connection once it is open, the relay once it
/// runs. `value()` suspends until it is set, and throws if the maker failed or stopped first.
public final class Rendezvous<Value: Sendable>: Sendable {
    private struct State {
        var waiters: [UInt64: CheckedContinuation<Value, any Error>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<UInt64> = []
        var next: UInt64 = 0
        var outcome: Result<Value, any Error>?
    }
    private let state = Mutex(State())

    public init() {}

    public func set(_ value: Value) { settle(.success(value)) }

    public func fail(_ error: any Error) { settle(.failure(error)) }

    /// The value if it has been set (for health checks, which must not wait).
    public var current: Value? { state.withLock { try? $0.outcome?.get() } }

    /// The value, once set; throws the maker's error, or `CancellationError` if the waiting task is cancelled.
    public func value() async throws -> Value {
        let id = state.withLock { state in
            state.next += 1
            return state.next
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let settled = state.withLock { state -> Result<Value, any Error>? in
                    if let outcome = state.outcome { return outcome }
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let settled { continuation.resume(with: settled) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                let waiter = state.waiters.removeValue(forKey: id)
                if waiter == nil { state.cancelled.insert(id) }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func settle(_ outcome: Result<Value, any Error>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, any Error>] in
            guard state.outcome == nil else { return [] }
            state.outcome = outcome
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}

/// Says a service is ready once each of its parts has said so (every pump consuming), exactly once.
public final class Readiness: Sendable {
    private let remaining: Mutex<Int>
    private let ready: @Sendable () -> Void

    public init(parts: Int, ready: @escaping @Sendable () -> Void) {
        remaining = Mutex(parts)
        self.ready = ready
    }

    public func partReady() {
        let now = remaining.withLock { remaining -> Bool in
            remaining -= 1
            return remaining == 0
        }
        if now { ready() }
    }
}

/// The broker connection as a service: it connects (retrying with back-off), declares the topology, hands the
/// connection to the services that wait for it, and closes it at graceful shutdown — which, the group
/// stopping in reverse order, comes after every pump has stopped and the relay has flushed.
public struct BrokerSession: Service {
    public let connection = Rendezvous<AMQPConnection>()
    let configuration: AMQPConfiguration
    let topology: (@Sendable () throws -> Topology)?
    /// Waited for before connecting: in `mash-hub`, adapters connect once the coordinator has declared the
    /// topology.
    let after: (@Sendable () async throws -> Void)?
    let logger: Logger

    public init(
        configuration: AMQPConfiguration, topology: (@Sendable () throws -> Topology)? = nil,
        after: (@Sendable () async throws -> Void)? = nil, logger: Logger
    ) {
        self.configuration = configuration
        self.topology = topology
        self.after = after
        self.logger = logger
    }

    public func run() async throws {
        let open: AMQPConnection
        do {
            open = try await cancelWhenGracefulShutdown { [after, configuration, topology, logger] in
                try await after?()
                let open = try await AMQPConnection.connect(configuration, logger: logger)
                if let topology { try await open.declare(try topology()) }
                return open
            }
        } catch {
            connection.fail(error)
            throw error
        }
        connection.set(open)
        try? await gracefulShutdown()
        await open.close()
    }
}

/// The outbox relay as a service: it flushes what an earlier run left, then publishes what commits hand it
/// (and sweeps for stragglers) until graceful shutdown, then flushes again before the connection closes.
public struct RelayService: Service {
    public let relay = Rendezvous<OutboxRelay>()
    let session: BrokerSession
    let make: @Sendable (AMQPConnection) -> OutboxRelay

    public init(session: BrokerSession, make: @escaping @Sendable (AMQPConnection) -> OutboxRelay) {
        self.session = session
        self.make = make
    }

    public func run() async throws {
        let made: OutboxRelay
        do {
            made = try await cancelWhenGracefulShutdown { [session, make] in
                let made = make(try await session.connection.value())
                try await made.drain()
                return made
            }
        } catch {
            relay.fail(error)
            throw error
        }
        relay.set(made)
        try await cancelWhenGracefulShutdown { try await made.run() }
        try await made.drain()
    }
}

/// One input queue's `MessagePump` as a service: it starts consuming once the connection and the relay are
/// there, says so, and at graceful shutdown stops taking deliveries and finishes the batch in hand.
public struct PumpService: Service {
    let pump: MessagePump
    let session: BrokerSession
    let relayService: RelayService
    let context: @Sendable (AMQPConnection, OutboxRelay) -> MessagePump.Context
    let readiness: Readiness?

    public init(
        _ pump: MessagePump, session: BrokerSession, relay: RelayService, readiness: Readiness?,
        context: @escaping @Sendable (AMQPConnection, OutboxRelay) -> MessagePump.Context
    ) {
        self.pump = pump
        self.session = session
        self.relayService = relay
        self.readiness = readiness
        self.context = context
    }

    public func run() async throws {
        try await untilShutdown { [self] in
            let context = context(try await session.connection.value(), try await relayService.relay.value())
            let batches = try await pump.consume(context)
            readiness?.partReady()
            try await pump.run(batches, context)
        }
    }
}

/// A loop that runs until graceful shutdown (timers, research workers, a heartbeat, a key folder watch),
/// given the relay once it runs.
public struct LoopService: Service, CustomStringConvertible {
    public let description: String
    let relayService: RelayService?
    let body: @Sendable (OutboxRelay?) async throws -> Void

    public init(
        _ name: String, relay: RelayService? = nil, _ body: @escaping @Sendable (OutboxRelay?) async throws -> Void
    ) {
        description = name
        relayService = relay
        self.body = body
    }

    public func run() async throws {
        try await untilShutdown { [self] in try await body(try await relayService?.relay.value()) }
    }
}

/// `/metrics` and `/health` as a service: bound at start, closed last at shutdown.
public struct OperationsService: Service {
    public let endpoint = Rendezvous<OperationsEndpoint>()
    let port: Int
    let metrics: @Sendable () -> [UInt8]
    let health: @Sendable () -> HealthReport
    let readiness: Readiness?
    let logger: Logger

    public init(
        port: Int, readiness: Readiness?, logger: Logger, metrics: @escaping @Sendable () -> [UInt8],
        health: @escaping @Sendable () -> HealthReport
    ) {
        self.port = port
        self.readiness = readiness
        self.logger = logger
        self.metrics = metrics
        self.health = health
    }

    public func run() async throws {
        let served: OperationsEndpoint
        do {
            served = try OperationsEndpoint(port: port, metrics: metrics, health: health)
        } catch {
            endpoint.fail(error)
            throw error
        }
        endpoint.set(served)
        logger.info("operations endpoint", metadata: ["url": "\(served.url)"])
        readiness?.partReady()
        try? await gracefulShutdown()
        served.close()
    }
}

/// Runs `body` until graceful shutdown cancels it. The `CancellationError` a cancelled store write or wait
/// throws is how the body stops, not a failure of the service (which would stop the group out of order).
func untilShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(body)
    } catch is CancellationError {
        guard Task.isShuttingDownGracefully || Task.isCancelled else { throw CancellationError() }
    }
}

/// What every service runs under its own flows, in start order: the operations endpoint (when a port is
/// given), the broker session and the outbox relay; and the pumps on top, which need all three. The coordinator,
/// each adapter and `mash-hub` build their services from one of these, so the wiring is written once.
public struct ServiceBase: Sendable {
    public let operations: OperationsService?
    public let session: BrokerSession
    public let relay: RelayService
    let readiness: Readiness
    let logger: Logger
    let metrics: ServiceMetrics
    let now: @Sendable () -> Date
    let appID: String

    /// `ready` is called once each of the `pumps` pumps consumes and the endpoint is bound.
    public init(
        broker: AMQPConfiguration, topology: (@Sendable () throws -> Topology)? = nil,
        after: (@Sendable () async throws -> Void)? = nil, outbox: Outbox, appID: String, operationsPort: Int?,
        pumps: Int, logger: Logger, metrics: ServiceMetrics, now: @escaping @Sendable () -> Date,
        scrape: @escaping @Sendable () -> [UInt8], health: @escaping @Sendable () -> HealthReport,
        ready: @escaping @Sendable () -> Void
    ) {
        let readiness = Readiness(parts: pumps + (operationsPort == nil ? 0 : 1), ready: ready)
        self.readiness = readiness
        self.logger = logger
        self.metrics = metrics
        self.now = now
        self.appID = appID
        operations = operationsPort.map {
            OperationsService(port: $0, readiness: readiness, logger: logger, metrics: scrape, health: health)
        }
        session = BrokerSession(configuration: broker, topology: topology, after: after, logger: logger)
        relay = RelayService(session: session) { connection in
            OutboxRelay(
                outbox: outbox, connection: connection, appID: appID, logger: logger, metrics: metrics, now: now)
        }
    }

    /// The endpoint, the session and the relay, in start order.
    public var services: [any Service] { (operations.map { [$0] } ?? []) + [session, relay] }

    /// The connection once open (for `/metrics` and `/health`, which must not wait).
    public var connection: AMQPConnection? { session.connection.current }

    public var operationsURL: String? { operations?.endpoint.current?.url }

    /// Tells the hub this party is running: every `interval`, publishes the sealed heartbeat `make` returns.
    /// Heartbeats are not kept in the outbox: a lost one is replaced by the next. So a refused publish is
    /// logged, not thrown: the broker closing the publish channel over another message (a permission refused,
    /// say) fails every publish in flight on it, and that must not stop the service.
    public func heartbeat(
        every interval: TimeInterval, _ make: @escaping @Sendable () async throws -> OutboxMessage
    ) -> LoopService {
        LoopService("heartbeat") { [session, metrics, now, appID, logger] _ in
            let connection = try await session.connection.value()
            while !Task.isCancelled {
                let message = try await make()
                let publication = message.publication(appID: appID, at: now())
                do {
                    try await connection.publish(
                        publication.message, exchange: publication.exchange, routingKey: publication.routingKey)
                    metrics.increment(
                        "mash_messages_published_total", [("exchange", message.exchange), ("type", message.type)])
                } catch let error as AMQPError {
                    logger.warning("heartbeat not published; the next one replaces it", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(interval))
            }
        }
    }

    /// A pump on this session and relay, opening with `opener` (called once per batch, and again after
    /// `refreshKeys` found new keys).
    public func pump(
        _ pump: MessagePump, opener: @escaping @Sendable () -> Opener, refreshKeys: (@Sendable () -> Bool)? = nil
    ) -> PumpService {
        PumpService(pump, session: session, relay: relay, readiness: readiness) { [logger, metrics, now] in
            MessagePump.Context(
                connection: $0, opener: opener, refreshKeys: refreshKeys, relay: $1, logger: logger, metrics: metrics,
                now: now)
        }
    }
}

extension ServiceGroup {
    /// Runs services in a group (started in order, stopped in reverse) until they end or the calling task is
    /// cancelled; cancellation is taken as a graceful shutdown, so an embedding test stops a service the way
    /// SIGTERM does: pumps first, the relay flushing, the connection last.
    ///
    /// With `signals`, SIGTERM or SIGINT starts the same graceful shutdown, and a second one (or the
    /// `deadline` passing) stops the process at once with status 128 + the signal. Stopping at once loses
    /// nothing either: what was not committed is redelivered, what was committed is published at the next start.
    public static func runGracefully(
        _ services: [any Service], logger: Logger, signals: Bool = false, deadline: Duration = .seconds(60)
    ) async throws {
        // A peer that hangs up must not end the process: writes to it fail with EPIPE instead.
        signal(SIGPIPE, SIG_IGN)
        var configuration = ServiceGroupConfiguration(services: services, logger: logger)
        configuration.maximumGracefulShutdownDuration = deadline
        let group = ServiceGroup(configuration: configuration)
        let watcher = signals ? Task { await watchSignals(group, logger: logger) } : nil
        defer { watcher?.cancel() }
        let running = Task { try await group.run() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            Task { await group.triggerGracefulShutdown() }
        }
    }

    private static func watchSignals(_ group: ServiceGroup, logger: Logger) async {
        var stopping = false
        for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
            if stopping {
                logger.warning(
                    "\(signal) again: stopping at once (nothing is lost: the next start carries on from the store)")
                exit(128 + signal.rawValue)
            }
            stopping = true
            logger.notice("\(signal): stopping gracefully (send it again to stop at once)")
            await group.triggerGracefulShutdown()
        }
    }
}
