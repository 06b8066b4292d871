import AMQP
import Foundation
import GRDB
import Logging
import MASHConfig
import MASHCore
import MASHPostgres
import MASHProtocol
import MASHRuntime
import MASHService
import Sealing
import ServiceLifecycle
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
    /// The adapters and desks the hub expects heartbeats from (`ExpectedParty.load`).
    public var expectedParties: [ExpectedParty] = []
    /// `Config/retention.yaml`; nil purges nothing (and says so at start).
    public var retention: RetentionSchedule?
    /// How often the record of sharing's head is signed and sent away (when it has moved).
    public var checkpointInterval: TimeInterval = 900
    /// How long before a meeting its list goes to the Practice Manager (routing.yaml `meetings.agendaBefore`);
    /// nil sends none.
    public var agendaLead: TimeInterval?
    /// Where each signed checkpoint is also appended, one per line, for an operator to ship elsewhere.
    public var checkpointFile: String?
    /// Who may receive data (`Config/signatories.yaml`); nil only in tests that are not about it.
    public var signatories: Signatories?
    /// The staff who may sign operator requests, with their roles (`Config/staff.yaml`); empty takes none.
    public var staff = StaffRegister([])
    /// The key store of each record's data key, apart from the store; by default `<store>.keys.sqlite` beside it.
    public var keyStorePath: String?
    /// The store on PostgreSQL instead of the SQLite file: a libpq connection string or URL (with every host of
    /// the pair and `target_session_attrs=read-write`, so a promoted standby is found). Two coordinators on one
    /// database: the one holding the lease is active, the other waits (`CoordinatorLease`).
    public var postgres: PostgresSettings?

    public struct PostgresSettings: Sendable {
        public var conninfo: String
        /// The key store's own database (its data keys kept apart from the content); nil keeps them in a table
        /// of the store's database.
        public var keysConninfo: String?
        /// How long the lease lasts unrenewed: the standby takes over this long after the active one stops.
        public var leaseTerm: Duration = .seconds(5)
        public init(conninfo: String, keysConninfo: String? = nil) {
            self.conninfo = conninfo
            self.keysConninfo = keysConninfo
        }
    }

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

/// The hub's coordinator: takes enquiries, fans them out as sealed research requests, correlates the
/// responses, runs the SLA clocks and delivers one decision package per enquiry.
///
/// It is the list of its flows' handlers on the shared runtime: one `MessagePump` per input queue (a batch of
/// deliveries handled in one transaction, a savepoint each, with the inbox and the outbox), the timers, and
/// the `OutboxRelay`. Every effect is committed with the messages it causes before its delivery is acked.
public final class Coordinator: Sendable {
    public let settings: CoordinatorSettings
    public let store: CoordinatorStore
    /// Seals personal data before it is stored (AES-256-GCM), and keys the subject pseudonyms.
    let keyring: DataKeyring
    /// Each enquiry's, DAN's and roll's own data key, wrapped by `keyring`: purging one shreds its key.
    let contentKeys: ContentKeys
    let sealer: Sealer
    let keyPairs: [AgencyKeyPair]
    /// Partners' public keys, cached: sealing inside a transaction reads no file.
    let publicKeys: PublicKeyring
    let outbox: Outbox
    /// On PostgreSQL, which of two coordinators is active (`Standby.swift`); nil on SQLite.
    let lease: CoordinatorLease?
    /// The PostgreSQL connections it opened (store, content keys, lease): closed when `run` ends.
    let postgresStores: [PostgresStore]
    /// The lease's epoch while this coordinator holds it.
    let activeEpoch = Mutex<Int64?>(nil)
    let logger: Logger
    let now: @Sendable () -> Date
    /// Counts for `/metrics`; the gauges (open enquiries, backlog, timer lag) are read from the store per scrape.
    public let metrics = ServiceMetrics()
    private let base = Mutex<ServiceBase?>(nil)
    /// When the meetings' lists were last looked at, and when they next need to be (`publishAgendas`).
    let agendaCheck = Mutex<(at: Date, next: Date)?>(nil)

    /// Where `/metrics` and `/health` are served, once `run` has started them.
    public var operationsURL: String? { base.withLock { $0?.operationsURL } }

    /// The broker connection, once open.
    var connection: AMQPConnection? { base.withLock { $0?.connection } }

    public init(settings: CoordinatorSettings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) throws
    {
        if let signatories = settings.signatories {
            // The hub's own desks receive every enquiry's package and alert; a hub that cannot disclose to them
            // cannot work at all, so that is a configuration error at start, not a dead letter later.
            let own = [settings.decisionMaker, settings.practiceManager] + settings.routing.intakeSenders.sorted()
            let today = settings.calendar.localDate(of: now())
            for party in own {
                if let refusal = signatories.refusal(of: party, on: today) {
                    throw ConfigurationError(
                        file: "signatories.yaml", line: nil, key: "parties.\(party)", problem: refusal)
                }
            }
        }
        self.settings = settings
        self.logger = logger
        self.now = now
        keyPairs = try KeyDirectory.keyPairs(agency: settings.identity, in: settings.keysDirectory)
        sealer = Sealer(sender: try keyPairs.signingPair())
        // The data key first: making it changes the coordinator's key folder, which the keyring would otherwise
        // read again at its first look.
        keyring = try DataKeyring.loadOrCreate(
            at: (settings.keysDirectory as NSString).appendingPathComponent("\(settings.identity)/data-at-rest.key"))
        publicKeys = try PublicKeyring(directory: settings.keysDirectory, logger: logger)
        if let postgres = settings.postgres {
            let database = try PostgresStore(conninfo: postgres.conninfo)
            let keys = try PostgresStore(conninfo: postgres.keysConninfo ?? postgres.conninfo)
            let leaseStore = try PostgresStore(conninfo: postgres.conninfo)
            store = try CoordinatorStore(postgres: database)
            contentKeys = try Self.postgresContentKeys(keys, wrapping: keyring)
            lease = CoordinatorLease(store: leaseStore, holder: CoordinatorLease.holderName(), term: postgres.leaseTerm)
            postgresStores = [database, keys, leaseStore]
        } else {
            store = try CoordinatorStore(path: settings.storePath)
            contentKeys = try ContentKeys(
                forStore: settings.storePath, keyStore: settings.keyStorePath, wrapping: keyring)
            lease = nil
            postgresStores = []
        }
        outbox = Outbox(store.sql)
    }

    /// The opener for the next batch, with the keys as the key folder holds them now (a key added or removed
    /// applies to the next message; no disk read unless the folder changed).
    func openerWithCurrentKeys() -> Opener {
        _ = publicKeys.refreshIfChanged()
        return opener
    }

    var opener: Opener {
        Opener(
            recipient: settings.identity, keyPairs: keyPairs, trusted: publicKeys.trusted,
            window: settings.messageWindow)
    }

    /// The input queues and their handlers.
    var pumps: [MessagePump] {
        let deadLetters = MessagePump.DeadLetters.publish(exchange: HubQueues.deadLetterExchange)
        var responses = MessagePump(
            queue: HubQueues.responses, identity: settings.identity, deadLetters: deadLetters, handler: handleResponse)
        responses.deduplicates = { DocumentType(rawValue: $0.type) != .adapterHeartbeat }
        var notifications = MessagePump(
            queue: HubQueues.notifications, identity: settings.identity, deadLetters: deadLetters,
            handler: handleNotification)
        notifications.deduplicates = responses.deduplicates
        return [
            MessagePump(
                queue: HubQueues.intake, identity: settings.identity, deadLetters: deadLetters, handler: handleIntake),
            responses, notifications,
        ]
    }

    /// The coordinator's parts as services, in start order (they stop in reverse): the operations endpoint,
    /// the broker session (connect, declare the topology), the outbox relay, the key folder watch, the timers,
    /// and a pump per input queue. `ready` is called once every pump consumes and the endpoint is bound.
    public func services(ready: @escaping @Sendable () -> Void = {}) -> [any Service] {
        let pumps = self.pumps
        let base = ServiceBase(
            broker: AMQPConfiguration(url: settings.broker, connectionName: "mash-coordinator"),
            topology: { [self] in try topology() }, outbox: outbox, appID: "mash-coordinator",
            operationsPort: settings.operationsPort, pumps: pumps.count, logger: logger, metrics: metrics, now: now,
            scrape: { [self] in scrape() }, health: { [self] in health() }
        ) { [logger] in
            logger.info("coordinator ready")
            ready()
        }
        self.base.withLock { $0 = base }
        let keys = publicKeys
        var loops: [any Service] = [
            LoopService("public keys") { _ in await keys.run() },
            LoopService("timers", relay: base.relay) { [self] relay in try await runTimers(relay!) },
        ]
        if let schedule = settings.retention {
            let retention = Purge(schedule: schedule) { [self] now in try await purge(at: now) }
            loops.append(retention.service(logger: logger, metrics: metrics, now: now))
        } else {
            logger.warning("no retention schedule: nothing will be purged")
        }
        if let lease {
            loops.insert(LoopService("lease") { [self] _ in try await holdLease(lease) }, at: 0)
        }
        return base.services + loops
            + pumps.map {
                base.pump($0, opener: { [self] in openerWithCurrentKeys() }, refreshKeys: { keys.reload() })
            }
    }

    /// The line `mash-coordinator` and `mash-hub` print once it is ready.
    public var readyLine: String {
        "mash-coordinator ready" + (operationsURL.map { " (metrics and health: \($0))" } ?? "")
    }

    /// Runs the coordinator's services until they fail or the calling task is cancelled, which stops them
    /// gracefully: consuming stops, the batch in hand finishes, the outbox is flushed, the connection closes.
    /// With a lease (PostgreSQL), waits for it first (`becomeActive`) and hands it over after a graceful stop.
    public func run(ready: @escaping @Sendable () -> Void = {}) async throws {
        defer { disconnect() }
        do {
            try await becomeActive()
            try await ServiceGroup.runGracefully(services(ready: ready), logger: logger)
            await handOver()
        } catch {
            logger.error("coordinator stopped", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("coordinator stopped")
    }

    /// Closes its PostgreSQL connections (once its services have stopped); nothing on SQLite.
    public func disconnect() {
        for store in postgresStores { store.disconnect() }
    }

    /// The definitions file's topology, plus a queue (with its DLQ) for any agency in routing.yaml that the
    /// definitions do not list, so onboarding an agency needs configuration, a key and a broker user, not a
    /// new definitions file.
    func topology() throws -> Topology {
        try HubQueues.topology(
            definitionsFile: settings.definitionsFile, vhost: settings.broker.vhost,
            agencies: Array(settings.routing.agencies.keys), schoolQueues: settings.schools.values.map(\.noticeQueue),
            authorities: settings.routing.missing.authorities, portals: Array(settings.routing.frontDoor.portals))
    }

    // MARK: sealing helpers

    /// Personal data for the store, sealed under its record's own data key (`scope`: `enquiry:<id>`, `dan:<id>`,
    /// `roll:<urn>`) and bound to its table and row so it opens nowhere else.
    func sealForStore(_ plaintext: [UInt8], table: String, id: String, scope: String) throws -> [UInt8] {
        try contentKeys.seal(plaintext, scope: scope, context: Array("\(table):\(id)".utf8))
    }

    func openFromStore(_ sealed: [UInt8], table: String, id: String, scope: String) throws -> [UInt8] {
        try contentKeys.open(sealed, scope: scope, context: Array("\(table):\(id)".utf8))
    }

    func sealed(
        _ payload: [UInt8], type: DocumentType, to agency: String, exchange: String, routingKey: String,
        headers: [String: String]
    ) throws -> OutboxMessage {
        let id = UUID().uuidString.lowercased()
        let recipient = try publicKeys.newestKey(of: agency)
        let body = try sealer.seal(payload, type: type.rawValue, messageID: id, to: recipient, issuedAt: now())
        var allHeaders = headers
        allHeaders["x-mash-sender"] = settings.identity
        return OutboxMessage(
            messageID: id, exchange: exchange, routingKey: routingKey, type: type.rawValue, headers: allHeaders,
            body: Array(body.utf8))
    }

    /// Why nothing may be disclosed to `party` now (it has not signed the agreement, or has left it), or nil.
    func notSignatory(_ party: String) -> String? {
        settings.signatories?.refusal(of: party, on: settings.calendar.localDate(of: now()))
    }

    func notice(_ notice: Notice, to agency: String, exchange: String) throws -> OutboxMessage {
        var headers = ["x-mash-enquiry": notice.enquiryID]
        headers["x-mash-request"] = notice.requestID
        return try sealed(
            notice.json, type: notice.type, to: agency, exchange: exchange, routingKey: agency, headers: headers)
    }
}
