import AMQP
import Coordinator
import Foundation
import GRDB
import Logging
import MASHAgency
import MASHConfig
import MASHCore
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
            await harness.close()
            throw error
        }
        await harness.close()
    }

    var storePath: String { scratch.file("coordinator.sqlite") }
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

    /// The store on PostgreSQL instead of the SQLite file (FailoverTests): the coordinator role's URL.
    let postgres = Locked<String?>(nil)
    /// The lease's term, with `postgres`.
    static let leaseTerm = 3

    /// Starts `mash-coordinator` as its own process and waits for its "ready" line.
    func startProcess(readyCount: Int = 1) async throws -> ChildProcess {
        let process = try launchProcess(log: scratch.file("coordinator.log"))
        try await process.waitFor("mash-coordinator ready", occurrences: readyCount, within: .seconds(60))
        return process
    }

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
            management, "--store", storePath, "--routing", routingFile, "--definitions", vhost.definitionsFile,
            "--schools", schoolsDirectory.value, "--desks", desksDirectory.value,
        ]
    }

    /// Reads the store directly, as an auditor with the file would.
    func query<T>(_ body: (Database) throws -> T) throws -> T {
        try DatabaseQueue(path: storePath).read(body)
    }

    private func close() async {
        await stopInProcess()
        for process in processes.value { process.stop(SIGKILL) }
        for agency in agencies.value { await agency.stop() }
        await admin.close()
        await vhost.remove()
        scratch.remove()
        hub.keys.remove()
    }
}
