import AMQP
import Coordinator
import Foundation
import GRDB
import Logging
import MASHAgency
import MASHConfig
import MASHCore
import MASHPostgres
import MASHReadModel
import MASHRuntime
import MASHService
import MASHTesting
import Sealing

/// One coordinator test's world: a hub of generated keys, a scratch store, a vhost of its own on the real
/// broker with the hub's queues (so tests run in parallel), the coordinator running in-process or as its own
/// process, and observers on the queues the coordinator writes to.
final class Harness: Sendable {
    /// The test node, its URLs pointing at this test's vhost.
    let broker: TestBroker
    let vhost: TestVhost
    let hub: TestHub
    let scratch: ScratchDirectory
    let admin: AMQPConnection
    let routingFile: String
    private let running = Locked<Task<Void, any Error>?>(nil)
    let processes = Locked<[ChildProcess]>([])
    private let agencies = Locked<[TestAgency]>([])

    /// Runs `body` with a new harness and always tears it down (coordinators, processes, agencies, files)
    /// before returning, so the next test starts clean.
    static func with(_ purpose: String, routing: String? = nil, _ body: (Harness) async throws -> Void)
        async throws
    {
        let harness = try await Harness(purpose, routing: routing)
        do {
            try await body(harness)
        } catch {
            harness.reportProcessLog(purpose)
            await harness.close()
            throw error
        }
        await harness.close()
    }

    /// The end of the coordinator process's log, for a failed test's output (the scratch folder goes with the
    /// harness).
    private func reportProcessLog(_ purpose: String) {
        Self.printEnd(of: scratch.file("coordinator.log"), "\(purpose): the coordinator process's log")
    }

    /// Prints the last 40 lines of the log at `path`, if there is one, under `title`.
    static func printEnd(of path: String, _ title: String) {
        guard let log = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let lines = log.split(separator: "\n")
        print("--- \(title), last 40 of \(lines.count) lines:")
        for line in lines.suffix(40) { print(line) }
    }

    /// The engine this run's coordinators keep their store on: SQLite files, or with `MASH_TEST_STORE=postgres` a
    /// schema of each test's own on the PostgreSQL pair (Tests/Deploy/check-postgres.sh runs every coordinator
    /// test so, a second time).
    static let engine: SQLEngine =
        ProcessInfo.processInfo.environment["MASH_TEST_STORE"] == "postgres" ? .postgres : .sqlite

    var storePath: String { scratch.file("coordinator.sqlite") }
    /// The coordinator's store as `mashctl --store` takes it: the SQLite file, or the PostgreSQL URL.
    var store: String { postgres.value ?? storePath }
    /// Where the coordinator appends its signed checkpoints (its default: beside the store).
    var checkpointFile: String { storePath + ".checkpoints" }

    /// The shipped routing with every agency mandatory, so a package waits for all seven answers.
    static func allMandatoryRouting() throws -> String {
        try String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "mandatory: false", with: "mandatory: true")
    }

    /// The shipped routing with one more agency (its `agencies:` entry, indented as in the file) listed
    /// before the defaults.
    static func routing(adding agency: String) throws -> String {
        try String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "\n# Who is asked", with: "\n" + agency + "\n# Who is asked")
    }

    /// The schools the coordinator knows (Config/schools unless a test writes its own).
    let schoolsDirectory: Locked<String> = Locked(Repository.path("Config/schools"))
    /// The desks the coordinator expects heartbeats from (`--desks`): none unless a test names a folder.
    let desksDirectory: Locked<String> = Locked("")
    /// The retention schedule the coordinator starts with (a test may write a short one).
    let retentionFile: Locked<String> = Locked(Repository.path("Config/retention.yaml"))
    /// How long before a meeting its list goes to the Practice Manager: never, unless a test asks.
    let agendaLead = Locked<TimeInterval?>(nil)
    /// Who has signed the agreement (the shipped file unless a test writes its own).
    let signatoriesFile: Locked<String> = Locked(Repository.path("Config/signatories.yaml"))
    /// Added to the coordinator's clock, so a test can move an in-process coordinator past a deadline.
    let clockOffset = Locked<TimeInterval>(0)

    init(_ purpose: String, routing: String? = nil) async throws {
        hub = try TestHub(purpose)
        scratch = try ScratchDirectory("coordinator-\(purpose)")
        vhost = try await TestVhost.create(
            purpose, on: try TestBroker.fromEnvironment(),
            definitions: Repository.path("deploy/rabbitmq/definitions.json"), scratch: scratch)
        broker = vhost.broker
        routingFile = scratch.file("routing.yaml")
        do {
            // No meeting lists unless a test asks: they would reach the Practice Manager's queue at any time of day.
            let text = try (routing ?? String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8))
                .replacingOccurrences(of: "agendaBefore: 15m", with: "agendaBefore: off")
            try text.write(toFile: routingFile, atomically: true, encoding: .utf8)
            if Self.engine == .postgres {
                let schema = Self.schemaName(purpose)
                let url = try Self.postgresURL(schema: schema, scratch: scratch)
                postgres.withLock { $0 = url }
                postgresSchema.withLock { $0 = schema }
            }
            admin = try await broker.connect("coordinator test \(purpose)")
        } catch {
            await vhost.remove()
            throw error
        }
    }

    /// Writes this test's signatories: the current ones with `party` (re)listed as `entry`
    /// (`{signed: 2024-04-01}`), or without it when `entry` is nil. Applies to the next start.
    func signatory(_ party: String, _ entry: String? = "{signed: 2024-04-01}") throws {
        let current = try String(contentsOfFile: signatoriesFile.value, encoding: .utf8)
        var lines = current.split(separator: "\n", omittingEmptySubsequences: false).filter {
            !$0.hasPrefix("  \(party):")
        }
        if let entry { lines.insert("  \(party): \(entry)", at: lines.lastIndex { !$0.isEmpty }.map { $0 + 1 } ?? 0) }
        let file = scratch.file("signatories.yaml")
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        signatoriesFile.withLock { $0 = file }
    }

    func settings() throws -> CoordinatorSettings {
        var settings = CoordinatorSettings(
            broker: try broker.url(asUser: "coordinator"), keysDirectory: hub.keys.path, storePath: storePath,
            definitionsFile: vhost.definitionsFile, routing: try RoutingConfiguration.load(file: routingFile),
            calendar: try CoordinatorSettings.calendar(
                holidaysFile: Repository.path("Config/calendar/bank-holidays.json")))
        settings.timerInterval = .milliseconds(100)
        settings.schools = try SchoolConfiguration.loadDirectory(
            schoolsDirectory.value, bankHolidays: settings.calendar.holidays)
        settings.expectedParties = try ExpectedParty.load(
            routing: settings.routing, desksDirectory: desksDirectory.value)
        settings.retention = try RetentionSchedule.load(file: retentionFile.value)
        settings.signatories = try Signatories.load(file: signatoriesFile.value)
        settings.staff = try StaffRegister.load(file: Repository.path("Config/staff.yaml"))
        settings.checkpointInterval = 0.2
        settings.checkpointFile = checkpointFile
        settings.agendaLead = agendaLead.value
        if let url = postgres.value {
            settings.postgres = CoordinatorSettings.PostgresSettings(conninfo: url)
            settings.postgres?.leaseTerm = .seconds(Self.leaseTerm)
        }
        return settings
    }

    /// Starts the coordinator in this process and waits until it consumes.
    @discardableResult
    func startInProcess(operationsPort: Int? = nil) async throws -> Coordinator {
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = .warning
        var settings = try settings()
        settings.operationsPort = operationsPort
        let offset = clockOffset
        let coordinator = try Coordinator(settings: settings, logger: logger) {
            Date().addingTimeInterval(offset.value)
        }
        let ready = Locked(false)
        running.withLock {
            $0 = Task { try await coordinator.run { ready.withLock { $0 = true } } }
        }
        try await within(.seconds(30), "the coordinator to start") {
            while !ready.value { try await Task.sleep(for: .milliseconds(20)) }
        }
        return coordinator
    }

    func stopInProcess() async {
        let task = running.value
        task?.cancel()
        _ = try? await task?.value
    }

    /// The store on PostgreSQL instead of the SQLite file (FailoverTests, or every test with `engine`
    /// `.postgres`): the coordinator role's URL, its search path this test's schema.
    let postgres = Locked<String?>(nil)
    /// The schema made for this test (dropped at the end), with `engine` `.postgres`.
    private let postgresSchema = Locked<String?>(nil)
    /// The test's own connection to the PostgreSQL store, made at its first `query`.
    private let postgresReader = Locked<PostgresStore?>(nil)

    /// The coordinator role's URL over both hosts of the pair (the writable one is chosen, so a promoted standby
    /// is found), with a passfile and a fresh schema of this test's own as its search path.
    static func postgresURL(schema: String, scratch: ScratchDirectory) throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let primary = environment["MASH_PG_PRIMARY_URL"], let standby = environment["MASH_PG_STANDBY_URL"],
            let credentials = environment["MASH_PG_CREDENTIALS"]
        else {
            throw MissingPostgres()
        }
        func hostPort(_ url: String) -> Substring {
            url.split(separator: "@")[1].split(separator: "/")[0]
        }
        let password = try String(contentsOfFile: credentials + "/mash_coordinator", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let passfile = scratch.file("pgpass")
        try Data("*:*:mash:mash_coordinator:\(password)\n".utf8).write(to: URL(fileURLWithPath: passfile))
        chmod(passfile, 0o600)
        let query = primary.split(separator: "?", maxSplits: 1)[1]
        let base =
            "postgresql://mash_coordinator@\(hostPort(primary)),\(hostPort(standby))/mash?\(query)"
            + "&target_session_attrs=read-write&connect_timeout=2&passfile=\(passfile)"
        try PostgresStore(conninfo: base).write { db in
            try db.execute(sql: "DROP SCHEMA IF EXISTS \(schema) CASCADE; CREATE SCHEMA \(schema)")
        }
        return base + "&options=-csearch_path%3D" + schema
    }

    /// A schema name for a test: its purpose in lower-case letters, digits and `_`, and a random suffix.
    static func schemaName(_ purpose: String) -> String {
        let letters = purpose.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }
        return "t_" + String(letters.prefix(40)) + "_" + UUID().uuidString.prefix(8).lowercased()
    }

    struct MissingPostgres: Error, CustomStringConvertible {
        var description: String {
            "MASH_PG_PRIMARY_URL, MASH_PG_STANDBY_URL and MASH_PG_CREDENTIALS are not set: run Tests/Deploy/check-postgres.sh"
        }
    }
    /// The lease's term, with `postgres`.
    static let leaseTerm = 3

    /// Starts `mash-coordinator` as its own process and waits for its "ready" line. Every start appends to one
    /// log, so a restart waits for one more "ready" than the log held (counted here, not by each test).
    func startProcess() async throws -> ChildProcess {
        let start = processStarts.withLock {
            $0 += 1
            return $0
        }
        let process = try launchProcess(log: scratch.file("coordinator.log"))
        try await process.waitFor("mash-coordinator ready", occurrences: start, within: .seconds(60))
        return process
    }
    private let processStarts = Locked(0)

    /// Starts `mash-coordinator` as its own process, logging to `log`, without waiting for it.
    func launchProcess(log: String) throws -> ChildProcess {
        let url = try broker.url(asUser: "coordinator")
        let database = postgres.value.map { ["--postgres", $0, "--lease-term", "\(Self.leaseTerm)"] } ?? []
        let process = try ChildProcess(
            ChildProcess.built("mash-coordinator"),
            database + [
                "--broker", "amqp://\(url.user):\(url.password)@\(url.host):\(url.port)/\(url.vhost)",
                "--keys", hub.keys.path, "--store", storePath, "--routing", routingFile,
                "--holidays", Repository.path("Config/calendar/bank-holidays.json"),
                "--definitions", vhost.definitionsFile, "--operations-port", "0",
                "--schools", schoolsDirectory.value, "--desks", desksDirectory.value,
                "--retention", retentionFile.value, "--signatories", signatoriesFile.value, "--staff",
                Repository.path("Config/staff.yaml"),
                "--checkpoint-every", "1",
            ], log: log)
        processes.withLock { $0.append(process) }
        return process
    }

    func agencies(_ ids: [String] = TestHub.agencies, answering: Bool = true) async throws -> [String: TestAgency] {
        var agencies: [String: TestAgency] = [:]
        for id in ids { agencies[id] = try await TestAgency(id, hub: hub, broker: broker, answers: answering) }
        self.agencies.withLock { $0 += agencies.values }
        return agencies
    }

    /// The SPA sends an enquiry (or any intake document), as its own broker user.
    func send(_ payload: [UInt8], type: DocumentType) async throws {
        try await send(payload, type: type, from: "spa", routingKey: "enquiry")
    }

    /// A police, CSC, Orchestra or school document, sealed by `sender` and published as that broker user (or
    /// `user`: a staff member publishes as `operator`) to `mash.intake` with `routingKey`. Returns the message id.
    @discardableResult
    func send(
        _ payload: [UInt8], type: DocumentType, from sender: String, routingKey: String, user: String? = nil,
        exchange: String = "mash.intake"
    ) async throws -> String {
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: try broker.url(asUser: user ?? sender), connectionName: "test \(sender)"))
        defer { Task { await connection.close() } }
        // Issued by the test's clock, as the coordinator's is (a test may move both forward).
        let message = try hub.sealed(
            payload, type: type, from: sender, to: "coordinator", issuedAt: Date().addingTimeInterval(clockOffset.value)
        )
        try await connection.publish(message, exchange: exchange, routingKey: routingKey)
        return message.properties.messageID ?? ""
    }

    /// A heartbeat from an agency's adapter (on `mash.responses`, as its broker user), as the adapter sends.
    func heartbeat(from agency: String, interval: TimeInterval = 30) async throws {
        let heartbeat = AdapterHeartbeat(
            agency: agency, sentAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
            pending: 0, lastResponseAt: nil, version: "test", interval: interval)
        try await send(
            heartbeat.json, type: .adapterHeartbeat, from: agency, routingKey: agency, exchange: "mash.responses")
    }

    /// The next `count` sealed messages on `queue`, opened as `party`.
    func take(_ count: Int, from queue: String, as party: String, within limit: Duration = .seconds(30)) async throws
        -> [OpenedMessage]
    {
        try await takeWithHeaders(count, from: queue, as: party, within: limit).map(\.opened)
    }

    /// As `take`, with each message's AMQP headers (the string ones).
    func takeWithHeaders(
        _ count: Int, from queue: String, as party: String, within limit: Duration = .seconds(30)
    ) async throws -> [(opened: OpenedMessage, headers: [String: String])] {
        let deliveries = try await admin.consume(queue: queue, prefetch: 50)
        let opener = try hub.opener(party)
        var taken: [(opened: OpenedMessage, headers: [String: String])] = []
        for _ in 0..<count {
            let delivery = try await deliveries.next(
                within: limit, "message \(taken.count + 1) of \(count) on \(queue)")
            let opened = try opener.open(
                String(decoding: delivery.body, as: UTF8.self), now: Date().addingTimeInterval(clockOffset.value))
            taken.append((opened, delivery.properties.headers.compactMapValues(\.string)))
            try delivery.ack()
        }
        return taken
    }

    /// Waits until `condition` holds (MASHTesting's `eventually`).
    func eventually(
        _ what: String, within limit: Duration = .seconds(30), _ condition: @escaping @Sendable () throws -> Bool
    ) async throws {
        try await MASHTesting.eventually(what, within: limit) { try condition() }
    }

    /// Runs `mashctl` again until its result satisfies `condition` (what it shows lags what was sent), failing
    /// after `limit`; returns the run that did.
    func mashctl(
        _ arguments: [String], until what: String, within limit: Duration = .seconds(30),
        _ condition: @escaping @Sendable ((status: Int32, output: String)) -> Bool
    ) async throws -> (status: Int32, output: String) {
        let last = Locked<(status: Int32, output: String)>((0, ""))
        try await MASHTesting.eventually(what, within: limit) { [self] in
            let run = try await mashctl(arguments)
            last.withLock { $0 = run }
            return condition(run)
        }
        return last.value
    }

    /// Runs `mashctl` to completion: its exit status and its combined output.
    /// Runs `mashctl` on a thread of its own: some commands wait for the in-process coordinator to act, which
    /// needs the cooperative pool this test runs on.
    func mashctl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: (0, try Shell.run(ChildProcess.built("mashctl"), arguments)))
                } catch let failure as Shell.Failure {
                    continuation.resume(returning: (failure.status, failure.output))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// `--broker`, `--management`, `--store` and `--routing` for `mashctl`'s operator commands.
    func operatorOptions() throws -> [String] {
        let url = try broker.url(asUser: "operator")
        let management = broker.managementURL
        return [
            "--broker", "amqp://operator:\(url.password)@\(url.host):\(url.port)/\(url.vhost)", "--management",
            management, "--store", store, "--routing", routingFile, "--definitions", vhost.definitionsFile,
            "--schools", schoolsDirectory.value, "--desks", desksDirectory.value,
        ]
    }

    /// A connection to a SQLite store a running service also writes: it waits for the service's write lock
    /// (as the services' own connections do) instead of failing with "database is locked".
    static func sqlite(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Reads the store directly, as an auditor with the file (or the database) would.
    func query<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        if postgres.value != nil { return try postgresStore().read(body) }
        return try Self.sqlite(storePath).read { try body($0) }
    }

    /// Changes the store behind the coordinator's back (a tamperer with write access, a test's setup).
    func modify<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        if postgres.value != nil { return try postgresStore().write(body) }
        return try Self.sqlite(storePath).write { try body($0) }
    }

    /// Changes a store given as `mashctl --store` takes it (a SQLite file or a PostgreSQL URL), in one transaction.
    func modify<T>(store: String, _ body: (any SQLDatabase) throws -> T) throws -> T {
        if store == self.store { return try modify(body) }
        if store.hasPrefix("postgresql://") { return try PostgresStore(conninfo: store).write(body) }
        return try Self.sqlite(store).write { try body($0) }
    }

    /// The statement that removes an append-only trigger, as someone with the file or the database owner's
    /// role could.
    static func dropTrigger(_ name: String, on table: String, in db: any SQLDatabase) throws {
        switch db.engine {
        case .sqlite: try db.execute(sql: "DROP TRIGGER IF EXISTS \(name)")
        case .postgres: try db.execute(sql: "DROP TRIGGER IF EXISTS \(name) ON \(table)")
        }
    }

    /// A copy of the stopped coordinator's store, to tamper with: a SQLite file (`VACUUM INTO`) or, on
    /// PostgreSQL, a schema of its own with every table's rows (as `mashctl --store` takes it).
    func copyStore(_ name: String) throws -> String {
        guard let url = postgres.value, let schema = postgresSchema.value else {
            let path = scratch.file(name + ".sqlite")
            try Self.sqlite(storePath).inDatabase { try $0.execute(sql: "VACUUM INTO ?", arguments: [path]) }
            return path
        }
        let copy = schema + "_" + name
        try postgresStore().write { db in
            try db.execute(sql: "DROP SCHEMA IF EXISTS \(copy) CASCADE; CREATE SCHEMA \(copy)")
            let tables = try Self.tables(in: schema, db)
            for table in tables {
                try db.execute(
                    sql: """
                        CREATE TABLE \(copy).\(table) (LIKE \(schema).\(table) INCLUDING ALL);
                        INSERT INTO \(copy).\(table) SELECT * FROM \(schema).\(table)
                        """)
            }
        }
        copies.withLock { $0.append(copy) }
        return url.replacingOccurrences(of: "search_path%3D" + schema, with: "search_path%3D" + copy)
    }
    private let copies = Locked<[String]>([])

    /// The tables of a PostgreSQL schema.
    private static func tables(in schema: String, _ db: any SQLDatabase) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT table_name FROM information_schema.tables WHERE table_schema = ?", arguments: [schema])
    }

    /// Whether `secret` is anywhere in the store in clear: in the SQLite file's bytes (and its WAL), or on
    /// PostgreSQL in any column of any row of the test's schema (text, or bytes shown as hex).
    func storeHoldsInClear(_ secret: String) throws -> Bool {
        guard let schema = postgresSchema.value else {
            let wal = (try? Data(contentsOf: URL(fileURLWithPath: storePath + "-wal"))) ?? Data()
            let bytes = try Data(contentsOf: URL(fileURLWithPath: storePath)) + wal
            return bytes.range(of: Data(secret.utf8)) != nil
        }
        let hex = secret.utf8.map { String(format: "%02x", $0) }.joined()
        return try query { db in
            let tables = try Self.tables(in: schema, db)
            return try tables.contains { table in
                try String.fetchAll(db, sql: "SELECT CAST(t AS text) FROM \(table) t").contains {
                    $0.contains(secret) || $0.contains(hex)
                }
            }
        }
    }

    /// The read model over the store, as `mashctl` reads it.
    func readModel() throws -> HubReadModel {
        if postgres.value != nil { return HubReadModel(try postgresStore()) }
        return try HubReadModel(readingAt: storePath)
    }

    /// The coordinator's content keys (beside the SQLite file, or in the PostgreSQL store), unwrapped with
    /// `dataKey`.
    func contentKeys(wrapping dataKey: DataKeyring) throws -> ContentKeys {
        if let url = postgres.value {
            return try Coordinator.postgresContentKeys(try PostgresStore(conninfo: url), wrapping: dataKey)
        }
        return try ContentKeys(path: ContentKeys.path(besideStore: storePath), wrapping: dataKey)
    }

    private func postgresStore() throws -> PostgresStore {
        if let reader = postgresReader.value { return reader }
        let store = try PostgresStore(conninfo: postgres.value!)
        postgresReader.withLock { $0 = store }
        return store
    }

    private func close() async {
        await stopInProcess()
        for process in processes.value { process.stop(SIGKILL) }
        for agency in agencies.value { await agency.stop() }
        await admin.close()
        await vhost.remove()
        postgresReader.value?.disconnect()
        if let schema = postgresSchema.value, let url = postgres.value {
            let names = [schema] + copies.value
            _ = try? await PostgresStore(conninfo: url).write { db in
                for name in names { try db.execute(sql: "DROP SCHEMA IF EXISTS \(name) CASCADE") }
            }
        }
        scratch.remove()
        hub.keys.remove()
    }
}
