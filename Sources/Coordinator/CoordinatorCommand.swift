import AMQP
import ArgumentParser
import Dispatch
import Foundation
import Logging
import MASHConfig
import MASHCore
import MASHRuntime
import MASHService
import ServiceLifecycle

/// `mash-coordinator`: the hub's coordinator service.
public struct CoordinatorCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mash-coordinator",
        abstract: "Run the MASH coordinator: fan enquiries out, correlate responses, run the SLA clocks.",
        discussion: """
            Takes sealed enquiries from coordinator.intake and responses from coordinator.responses, keeps its \
            state in an SQLite store (WAL, personal data encrypted at rest), and publishes through an outbox. \
            SIGTERM or SIGINT stops it gracefully: consuming stops, the message in hand finishes, the outbox is \
            flushed. A kill -9 loses nothing either: the next start picks up from the store.

            Example:
              mash-coordinator --broker "$(scripts/broker.sh url coordinator)" --keys .build/keys
            """)

    @OptionGroup var options: CoordinatorOptions

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    public init() {}

    public func run() async throws {
        var logger = Logger(label: "mash.coordinator")
        logger.logLevel = logLevel
        let coordinator = try options.coordinator(logger: logger)
        // With --postgres, a standby waits here until the active coordinator's lease runs out.
        try await coordinator.becomeActive()
        let services = coordinator.services {
            FileHandle.standardOutput.write(Data((coordinator.readyLine + "\n").utf8))
        }
        try await ServiceGroup.runGracefully(services, logger: logger, signals: true)
        await coordinator.handOver()
        logger.notice("stopped gracefully: every batch in hand finished and the outbox flushed")
    }
}

/// Where the coordinator finds its broker, keys, store and rules: `mash-coordinator`'s options, and
/// `mash-hub`'s.
public struct CoordinatorOptions: ParsableArguments {
    @Option(help: "The broker URL (amqp:// or amqps://, user coordinator). Default: $MASH_COORDINATOR_URL.")
    var broker: String?

    @Option(help: "Key directory: <dir>/coordinator/*.pem and every partner's <dir>/<agency>/*.jwk.")
    var keys: String = ".build/keys"

    @Option(help: "The coordinator's SQLite store (created on first start).")
    var store: String = ".build/coordinator/coordinator.sqlite"

    @Option(help: "Routing rules: agencies, the fields each receives, per-RAG defaults, SLA clocks.")
    var routing: String = "Config/routing.yaml"

    @Option(help: "GOV.UK bank holidays file for the working calendar.")
    var holidays: String = "Config/calendar/bank-holidays.json"

    @Option(help: "Folder of <urn>.yaml school files: Encompass contacts, term dates, roll rules.")
    var schools: String = "Config/schools"

    @Option(
        help: """
            Folder of the desks' <party>.yaml files: each desk (with every agency in the routing file) is expected             to send heartbeats, and one never heard from is reported (mash_party_never_heard).
            """)
    var desks: String = "Config/desks"

    @Option(
        help: """
            Retention schedule: how long each kind of record is kept; what is due is purged daily and its key shredded.
            """)
    var retention: String = "Config/retention.yaml"

    @Option(
        help: """
            Who has signed the information sharing agreement: nothing is disclosed to a party not in it, not yet \
            signed or withdrawn.
            """)
    var signatories: String = "Config/signatories.yaml"

    @Option(
        help: """
            The staff who may ask for changes or see content, each with their roles; each request must be signed             by the member's own key (<keys>/<staff-id>/).
            """)
    var staff: String = "Config/staff.yaml"

    @Option(
        help: """
            Seconds between signed checkpoints of the record of sharing's head (sent to the audit.checkpoints \
            queue and the checkpoint file), when it has grown.
            """)
    var checkpointEvery: Int = 900

    @Option(
        help: """
            File each signed checkpoint is appended to, one per line, for an operator to ship elsewhere \
            (default: <store>.checkpoints beside the store).
            """)
    var checkpointFile: String?

    @Option(help: "Key store of each record's data key (default: <store>.keys.sqlite beside the store).")
    var keyStore: String?

    @Option(
        help: """
            Keep the store on PostgreSQL instead of --store: a libpq URL naming both hosts of the pair, e.g. \
            postgresql://mash_coordinator@db1:5432,db2:5432/mash?sslmode=verify-full&target_session_attrs=read-write \
            (password from PGPASSFILE or passfile=). Two coordinators may share it: one is active, the other \
            waits as its standby. Default: $MASH_POSTGRES_URL.
            """)
    var postgres: String?

    @Option(help: "With --postgres: the key store's own database (default: a table in the --postgres database).")
    var postgresKeys: String?

    @Option(
        help: """
            With --postgres: seconds the lease lasts unrenewed, so how long after the active coordinator dies \
            (or is cut off) the standby takes over; a graceful stop (SIGTERM) hands the lease over at once.
            """)
    var leaseTerm: Int = 5

    @Option(help: "RabbitMQ definitions whose topology is declared at start.")
    var definitions: String = "deploy/rabbitmq/definitions.json"

    @Option(
        help: """
            Local port serving /metrics (Prometheus) and /health on 127.0.0.1; 0 picks a free port, off serves none.
            """)
    public var operationsPort = OperationsPort(9470)

    public init() {}

    /// The coordinator these options describe; configuration errors name file, line and key.
    public func coordinator(logger: Logger) throws -> Coordinator {
        guard let url = broker ?? ProcessInfo.processInfo.environment["MASH_COORDINATOR_URL"] else {
            throw ValidationError(
                "no broker: pass --broker amqp://coordinator:…@host:port/mash or set MASH_COORDINATOR_URL")
        }
        let routing = try RoutingConfiguration.load(file: routing)
        var settings = CoordinatorSettings(
            broker: try AMQPURL(url), keysDirectory: keys, storePath: store, definitionsFile: definitions,
            routing: routing, calendar: try CoordinatorSettings.calendar(holidaysFile: holidays))
        settings.operationsPort = operationsPort.port
        settings.schools = try SchoolConfiguration.loadDirectory(schools, bankHolidays: settings.calendar.holidays)
        settings.expectedParties = try ExpectedParty.load(routing: routing, desksDirectory: desks)
        settings.retention = try RetentionSchedule.load(file: retention)
        settings.keyStorePath = keyStore
        if let url = postgres ?? ProcessInfo.processInfo.environment["MASH_POSTGRES_URL"] {
            guard leaseTerm >= 2 else { throw ValidationError("--lease-term must be 2 seconds or more") }
            var database = CoordinatorSettings.PostgresSettings(conninfo: url, keysConninfo: postgresKeys)
            database.leaseTerm = .seconds(leaseTerm)
            settings.postgres = database
        } else if postgresKeys != nil {
            throw ValidationError("--postgres-keys needs --postgres")
        }
        settings.agendaLead = routing.meetings.agendaLead
        settings.signatories = try Signatories.load(file: signatories)
        settings.staff = try StaffRegister.load(file: staff)
        guard checkpointEvery > 0 else {
            throw ValidationError("--checkpoint-every must be a number of seconds over 0")
        }
        settings.checkpointInterval = TimeInterval(checkpointEvery)
        settings.checkpointFile = checkpointFile ?? store + ".checkpoints"
        return try Coordinator(settings: settings, logger: logger)
    }
}
