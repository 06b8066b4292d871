import AMQP
import Foundation
import GRDB
import Logging
import MASHConfig
import MASHCore
import MASHService
import Sealing
import Synchronization

/// Where the coordinator finds its broker, keys, store and rules.
public struct CoordinatorSettings: Sendable {
    public var broker: AMQPURL
    /// `<keys>/<agency>/*.pem|*.jwk`: the coordinator's own key pairs and every partner's public keys.
    public var keysDirectory: String
    public var storePath: String
    /// The RabbitMQ definitions file whose topology is declared at start.
    public var definitionsFile: String
    public var routing: RoutingConfiguration
    public var calendar: WorkingCalendar
    public var identity = "coordinator"
    public var decisionMaker = "decision-maker"
    public var practiceManager = "practice-manager"
    /// How far a message's `iat` may be from now. Queued messages wait while a service is down, so this is
    /// long; the inbox (kept for longer than the window) stops replays within it.
    public var messageWindow: TimeInterval = 72 * 3600
    public var timerInterval: Duration = .milliseconds(200)
    /// The local port for `/metrics` and `/health` (0 picks a free one); nil serves neither.
    public var operationsPort: Int?
    /// The schools of `Config/schools`, by URN: Encompass notices and roll feeds.
    public var schools: [String: SchoolConfiguration] = [:]

    /// The MASH working calendar with the bank holidays of GOV.UK's file at `holidaysFile`.
    public static func calendar(holidaysFile: String) throws -> WorkingCalendar {
        guard let data = FileManager.default.contents(atPath: holidaysFile) else {
            throw ConfigurationError(
                file: holidaysFile, line: nil, key: "", problem: "cannot read the bank holidays file")
        }
        return .mash(holidays: try BankHolidays.englandAndWales(fromGOVUK: data, source: holidaysFile))
    }

    public init(
        broker: AMQPURL, keysDirectory: String, storePath: String, definitionsFile: String,
        routing: RoutingConfiguration, calendar: WorkingCalendar
    ) {
        self.broker = broker
        self.keysDirectory = keysDirectory
        self.storePath = storePath
        self.definitionsFile = definitionsFile
        self.routing = routing
        self.calendar = calendar
    }
}

/// The queue and exchange names of the hub (deploy/rabbitmq/definitions.json).
public enum HubQueues {
    public static let intake = "coordinator.intake"
    /// DANs, open-case updates, school rolls and Encompass acknowledgements.
    public static let notifications = "coordinator.notifications"
    public static let responses = "coordinator.responses"
    public static let intakeExchange = "mash.intake"
    public static let enquiriesExchange = "mash.enquiries"
    public static let responsesExchange = "mash.responses"
    public static let noticesExchange = "mash.notices"
    public static let alertsExchange = "mash.alerts"
    public static let decisionsExchange = "mash.decisions"
    public static let deadLetterExchange = "mash.dlx"
    public static func agency(_ id: String) -> String { "agency.\(id).enquiries" }
    public static let decisionPackages = "decision-maker.packages"
    public static let practiceManagerAlerts = "practice-manager.alerts"
    public static let spaNotices = "spa.notices"
    public static let probationSafeguarding = "probation.safeguarding"
    public static let socialCareContacts = "csc.contacts"
    public static let laOfficerNotices = "la-officer.encompass"
    public static let educationRolls = "education.rolls"
    public static let orchestraNotices = "orchestra.notices"
}

/// A message the coordinator will not process, sent to its queue's DLQ with a reason code.
struct Rejection: Error {
    var reason: String
    var detail: String
}

/// The hub's coordinator: takes enquiries, fans them out as sealed research requests, correlates the
/// responses, runs the SLA clocks and delivers one decision package per enquiry.
///
/// Every effect is a database transaction that also holds the messages it causes (the outbox) and the id of
/// the message that caused it (the inbox); the delivery is acked only after that commit. Outbox messages are
/// published right after the commit and again, from the table, after any crash.
public final class Coordinator: Sendable {
    public let settings: CoordinatorSettings
    public let store: CoordinatorStore
    /// Seals personal data before it is stored (AES-256-GCM), and keys the subject pseudonyms.
    let keyring: DataKeyring
    let sealer: Sealer
    let opener: Opener
    let logger: Logger
    let now: @Sendable () -> Date
    /// Outbox messages the broker confirmed but not yet marked published in the store. Marking them rides on
    /// the next transaction (or the relay's, within a second) rather than costing a commit of its own: a mark
    /// lost in a crash only means the message is published again, with the same id.
    let confirmed = Mutex<[String]>([])
    /// Counts for `/metrics`; the gauges (open enquiries, backlog, timer lag) are read from the store per scrape.
    public let metrics = ServiceMetrics()
    let liveConnection = Mutex<AMQPConnection?>(nil)
    private let endpoint = Mutex<OperationsEndpoint?>(nil)

    /// Where `/metrics` and `/health` are served, once `run` has started them.
    public var operationsURL: String? { endpoint.withLock { $0?.url } }

    public init(settings: CoordinatorSettings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) throws
    {
        self.settings = settings
        self.logger = logger
        self.now = now
        let pairs = try KeyDirectory.keyPairs(agency: settings.identity, in: settings.keysDirectory)
        sealer = Sealer(sender: pairs[0])
        opener = Opener(
            recipient: settings.identity, keyPairs: pairs, trusted: try TrustStore(directory: settings.keysDirectory),
            window: settings.messageWindow)
        keyring = try DataKeyring.loadOrCreate(
            at: (settings.keysDirectory as NSString).appendingPathComponent("\(settings.identity)/data-at-rest.key"))
        store = try CoordinatorStore(path: settings.storePath)
    }

    /// Runs until cancelled: consumes intake and responses, fires timers, relays the outbox. On cancellation it
    /// stops consuming, lets the message in hand finish, publishes what the outbox still holds, and closes.
    public func run(ready: @escaping @Sendable () -> Void = {}) async throws {
        if let port = settings.operationsPort {
            let served = try OperationsEndpoint(
                port: port, metrics: { [self] in scrape() }, health: { [self] in health() })
            endpoint.withLock { $0 = served }
            logger.info("operations endpoint", metadata: ["url": "\(served.url)"])
        }
        defer { endpoint.withLock { $0?.close() } }
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: settings.broker, connectionName: "mash-coordinator"), logger: logger)
        liveConnection.withLock { $0 = connection }
        do {
            try await connection.declare(try topology())
            try await relay(on: connection, olderThan: nil)
            let intake = try await connection.consume(queue: HubQueues.intake)
            let responses = try await connection.consume(queue: HubQueues.responses)
            let notifications = try await connection.consume(queue: HubQueues.notifications)
            logger.info("coordinator ready")
            ready()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.consume(intake, on: connection, self.handleIntake) }
                group.addTask { try await self.consume(responses, on: connection, self.handleResponse) }
                group.addTask { try await self.consume(notifications, on: connection, self.handleNotification) }
                group.addTask { try await self.runTimers(on: connection) }
                group.addTask { try await self.runRelay(on: connection) }
                try await group.next()
                group.cancelAll()
                try await group.waitForAll()
            }
        } catch is CancellationError {
        } catch {
            logger.error("coordinator stopped", metadata: ["error": "\(error)"])
            await connection.close()
            throw error
        }
        try? await relay(on: connection, olderThan: nil)
        try? transaction { _ in }
        await connection.close()
        logger.info("coordinator stopped")
    }

    /// The definitions file's topology, plus a queue (with its DLQ) for any agency in routing.yaml that the
    /// definitions do not list, so onboarding an agency needs configuration, a key and a broker user, not a
    /// new definitions file.
    func topology() throws -> Topology {
        try Self.topology(
            definitionsFile: settings.definitionsFile, vhost: settings.broker.vhost,
            agencies: Array(settings.routing.agencies.keys), schoolQueues: settings.schools.values.map(\.noticeQueue))
    }

    /// The hub's topology: the definitions file's, plus a queue (with its DLQ) for each of `agencies` that the
    /// definitions do not list, and one for each school's Encompass notices (bound to `mash.notices` by its own
    /// name). `mashctl` reports the same queues the coordinator declares.
    public static func topology(
        definitionsFile: String, vhost: String, agencies: [String], schoolQueues: [String] = []
    ) throws -> Topology {
        var topology = try Topology(rabbitMQDefinitionsFile: definitionsFile, vhost: vhost)
        let declared = Set(topology.queues.map(\.name))
        /// An input queue as the definitions declare theirs: quorum, delivery limit, its own DLQ.
        func add(_ queue: String, boundTo exchange: String, routingKey: String) {
            guard !declared.contains(queue) else { return }
            topology.queues += [
                .quorum(queue, deliveryLimit: 5, deadLetterExchange: HubQueues.deadLetterExchange),
                .deadLetters(of: queue),
            ]
            topology.bindings += [
                Topology.Binding(exchange: exchange, queue: queue, routingKey: routingKey),
                Topology.Binding(exchange: HubQueues.deadLetterExchange, queue: queue + ".dlq", routingKey: queue),
            ]
        }
        for agency in agencies.sorted() {
            add(HubQueues.agency(agency), boundTo: HubQueues.enquiriesExchange, routingKey: agency)
        }
        for queue in schoolQueues.sorted() { add(queue, boundTo: HubQueues.noticesExchange, routingKey: queue) }
        return topology
    }

    // MARK: consuming

    private func consume(
        _ deliveries: AsyncThrowingStream<Delivery, any Error>, on connection: AMQPConnection,
        _ handle: @Sendable (Delivery, OpenedMessage) throws -> [OutboxMessage]
    ) async throws {
        for try await delivery in deliveries {
            let caused: [OutboxMessage]
            do {
                let opened = try open(delivery)
                caused = try handle(delivery, opened)
            } catch let rejection as Rejection {
                try await deadLetter(delivery, rejection, on: connection)
                continue
            } catch let error as SealingError {
                // Sealing what the message causes failed (an addressee without a public key, say): the
                // transaction rolled back; the message waits in the DLQ until the key is added and it is
                // replayed. Anything else (the store failing) stops the service with the message unacked.
                try await deadLetter(
                    delivery, Rejection(reason: "cannotSeal", detail: error.description), on: connection)
                continue
            }
            try await publish(caused, on: connection)
            try delivery.ack()
            metrics.increment("mash_messages_received_total", [("queue", delivery.queue), ("outcome", "processed")])
            if Task.isCancelled { break }
        }
    }

    private func open(_ delivery: Delivery) throws -> OpenedMessage {
        let opened: OpenedMessage
        do {
            opened = try opener.open(String(decoding: delivery.body, as: UTF8.self), now: now())
        } catch let error as SealingError {
            throw Rejection(reason: error.code.rawValue, detail: error.message)
        }
        guard delivery.properties.messageID == opened.messageID else {
            throw Rejection(reason: "messageIDMismatch", detail: "the AMQP message id is not the sealed jti")
        }
        return opened
    }

    /// Publishes a copy to the queue's DLQ with the reason in headers, waits for the confirm, then acks.
    private func deadLetter(_ delivery: Delivery, _ rejection: Rejection, on connection: AMQPConnection) async throws {
        logger.warning(
            "dead-lettered",
            metadata: [
                "queue": "\(delivery.queue)", "message": "\(delivery.properties.messageID ?? "-")",
                "reason": "\(rejection.reason)", "detail": "\(rejection.detail)",
            ])
        var properties = delivery.properties
        properties.headers["x-mash-reason"] = .string(rejection.reason)
        properties.headers["x-mash-detail"] = .string(rejection.detail)
        properties.headers["x-mash-rejected-by"] = .string(settings.identity)
        if properties.messageID == nil { properties.messageID = UUID().uuidString.lowercased() }
        try await connection.publish(
            OutboundMessage(body: delivery.body, properties: properties), exchange: HubQueues.deadLetterExchange,
            routingKey: delivery.queue)
        try delivery.ack()
        metrics.increment("mash_messages_received_total", [("queue", delivery.queue), ("outcome", "dead-lettered")])
        metrics.increment("mash_failures_total", [("queue", delivery.queue), ("reason", rejection.reason)])
    }

    // MARK: outbox

    func publish(_ messages: [OutboxMessage], on connection: AMQPConnection) async throws {
        guard !messages.isEmpty else { return }
        let stamp = now()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages {
                group.addTask {
                    var properties = MessageProperties(
                        messageID: message.messageID, type: message.type, contentType: "application/jose",
                        appID: "mash-coordinator", timestamp: UInt64(stamp.timeIntervalSince1970))
                    for (key, value) in message.headers { properties.headers[key] = .string(value) }
                    try await connection.publish(
                        OutboundMessage(body: message.body, properties: properties), exchange: message.exchange,
                        routingKey: message.routingKey)
                }
            }
            try await group.waitForAll()
        }
        confirmed.withLock { $0 += messages.map(\.messageID) }
        for message in messages {
            metrics.increment(
                "mash_messages_published_total", [("exchange", message.exchange), ("type", message.type)])
        }
    }

    /// A store transaction that also marks the confirmed outbox messages published.
    func transaction<T>(_ body: (Database) throws -> T) throws -> T {
        let marks = confirmed.withLock { marks in
            defer { marks = [] }
            return marks
        }
        do {
            return try store.write { db in
                try store.markPublished(db, marks, at: now())
                return try body(db)
            }
        } catch {
            confirmed.withLock { $0 += marks }
            throw error
        }
    }

    /// Publishes outbox rows not yet published: all of them at start, and afterwards those older than a few
    /// seconds (the ones whose inline publish failed or was cut short).
    private func relay(on connection: AMQPConnection, olderThan age: TimeInterval?) async throws {
        while true {
            let cutoff = age.map { now().addingTimeInterval(-$0) }
            let pending = try store.pendingOutbox(limit: 200, createdBefore: cutoff)
            guard !pending.isEmpty else { return }
            try await publish(pending, on: connection)
            try transaction { _ in }
        }
    }

    private func runRelay(on connection: AMQPConnection) async throws {
        while !Task.isCancelled {
            if !confirmed.withLock({ $0.isEmpty }) { try transaction { _ in } }
            try await relay(on: connection, olderThan: 5)
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: sealing helpers

    /// Personal data for the store, bound to its table and row so it opens nowhere else.
    func sealForStore(_ plaintext: [UInt8], table: String, id: String) throws -> [UInt8] {
        try keyring.seal(plaintext, context: Array("\(table):\(id)".utf8))
    }

    func openFromStore(_ sealed: [UInt8], table: String, id: String) throws -> [UInt8] {
        try keyring.open(sealed, context: Array("\(table):\(id)".utf8))
    }

    func sealed(
        _ payload: [UInt8], type: DocumentType, to agency: String, exchange: String, routingKey: String,
        headers: [String: String]
    ) throws -> OutboxMessage {
        let id = UUID().uuidString.lowercased()
        let recipient = try KeyDirectory.newestPublicKey(agency: agency, in: settings.keysDirectory)
        let body = try sealer.seal(payload, type: type.rawValue, messageID: id, to: recipient, issuedAt: now())
        var allHeaders = headers
        allHeaders["x-mash-sender"] = settings.identity
        return OutboxMessage(
            messageID: id, exchange: exchange, routingKey: routingKey, type: type.rawValue, headers: allHeaders,
            body: Array(body.utf8))
    }

    func notice(_ notice: Notice, to agency: String, exchange: String) throws -> OutboxMessage {
        var headers = ["x-mash-enquiry": notice.enquiryID]
        headers["x-mash-request"] = notice.requestID
        return try sealed(
            notice.json, type: notice.type, to: agency, exchange: exchange, routingKey: agency, headers: headers)
    }
}
