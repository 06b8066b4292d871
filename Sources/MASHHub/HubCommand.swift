import Adapter
import ArgumentParser
import Coordinator
import Desk
import Foundation
import Logging
import MASHAgency
import MASHRuntime
import MASHService
import ServiceLifecycle

/// `mash-hub`: the coordinator and the configured adapters in one process and one service group, for
/// development and demonstrations (`make run`). Production runs one process per service.
public struct HubCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mash-hub",
        abstract: "Run the coordinator and agency adapters together in one process (development: make run).",
        discussion: """
            Every service is the one `mash-coordinator` and `mash-adapter` run, in one service group: the \
            coordinator starts first and the adapters connect once it has declared the topology; each says when \
            it is ready, and the hub says so when all are. Log lines are prefixed by service.

            Ctrl-C or SIGTERM stops everything gracefully, in reverse order: the adapters' and the coordinator's \
            pumps stop taking messages and finish the batch in hand, the outboxes are flushed, the connections \
            close; the hub then says so and exits 0. A second Ctrl-C stops at once (status 130), which loses \
            nothing either: the next start carries on from the stores and the queues.

            Production runs one process per service (deploy/systemd), so that an agency's adapter runs on the \
            agency's own machine with only its own keys.

            Example:
              MASH_COORDINATOR_URL=amqps://coordinator:…@localhost:25671/mash mash-hub --keys .build/keys \\
                --adapter Config/agencies/police.yaml --adapter Config/agencies/health.yaml
            """)

    @OptionGroup(title: "Coordinator") var coordinator: CoordinatorOptions

    @Option(
        name: .customLong("adapter"),
        help: """
            An agency's configuration file (Config/agencies/<id>.yaml); repeat for each adapter. With the \
            coordinator's --operations-port P, the adapters serve theirs on P+1, P+2, … in the order given, and \
            the desks theirs after the adapters'.
            """)
    var adapters: [String] = []

    @Option(
        name: .customLong("desk"),
        help: """
            A desk's configuration file (Config/desks/<party>.yaml); repeat for each desk. Desks connect once the \
            coordinator has declared the topology and serve their pages on the port their file names.
            """)
    var desks: [String] = []

    @Flag(
        help: """
            Become the terminal's foreground process group, so that Ctrl-C reaches the hub alone and a script or \
            make that started it is not interrupted while the hub stops gracefully.
            """)
    var takeTerminal = false

    @Option(help: "A file written once every service is ready (scripts wait for it instead of reading logs).")
    var readyFile: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    public init() {}

    public func validate() throws {
        for file in adapters where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("--adapter \(file): cannot read the file")
        }
        for file in desks where !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("--desk \(file): cannot read the file")
        }
    }

    public func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = PrefixedLogHandler(label: label, tag: Self.tag(of: label))
            handler.logLevel = level
            return handler
        }
        if takeTerminal, !TerminalForeground.take() {
            Logger(label: "mash.hub").notice("no controlling terminal to take; carrying on without it")
        }
        let logger = Logger(label: "mash.hub")
        let hub = try coordinator.coordinator(logger: Logger(label: "mash.coordinator"))
        // With --postgres, this hub's coordinator may be the standby of another's: it waits for the lease.
        try await hub.becomeActive()
        let coordinatorReady = Rendezvous<Void>()
        var parts: [(name: String, services: [any Service])] = []
        let ready = Readiness(parts: 1 + adapters.count + desks.count) {
            [readyFile, adapterCount = adapters.count, deskCount = desks.count] in
            if let readyFile { _ = FileManager.default.createFile(atPath: readyFile, contents: Data()) }
            PrefixedLogHandler.write(
                "hub",
                "mash-hub ready: the coordinator, \(adapterCount) adapters"
                    + (deskCount > 0 ? " and \(deskCount) desks" : ""))
        }
        parts.append(
            (
                "coordinator",
                hub.services {
                    PrefixedLogHandler.write("coordinator", hub.readyLine)
                    coordinatorReady.set(())
                    ready.partReady()
                }
            ))
        for (index, file) in adapters.enumerated() {
            var configuration = try AdapterConfiguration.load(file: file)
            if let port = coordinator.operationsPort.port {
                configuration.operationsPort = port == 0 ? 0 : port + index + 1
            }
            let adapter = try Adapter(
                configuration: configuration, broker: try configuration.brokerURL(override: nil),
                logger: Logger(label: "mash.adapter.\(configuration.agency)"))
            let agency = configuration.agency
            parts.append(
                (
                    agency,
                    adapter.services(
                        ready: {
                            PrefixedLogHandler.write(agency, adapter.readyLine)
                            ready.partReady()
                        },
                        after: { try await coordinatorReady.value() })
                ))
        }
        for (index, file) in desks.enumerated() {
            var configuration = try DeskConfiguration.load(file: file)
            if let port = coordinator.operationsPort.port {
                configuration.operationsPort = port == 0 ? 0 : port + adapters.count + index + 1
            }
            let desk = try Desk(
                configuration: configuration, broker: try configuration.brokerURL(override: nil),
                logger: Logger(label: "mash.desk.\(configuration.party)"))
            let party = configuration.party
            parts.append(
                (
                    "desk \(party)",
                    try desk.services(
                        ready: {
                            PrefixedLogHandler.write("desk " + party, desk.readyLine)
                            ready.partReady()
                        },
                        after: { try await coordinatorReady.value() })
                ))
        }
        do {
            try await ServiceGroup.runGracefully(parts.flatMap(\.services), logger: logger, signals: true)
            await hub.handOver()
        } catch {
            logger.error("stopped by a failure", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        if let readyFile { try? FileManager.default.removeItem(atPath: readyFile) }
        PrefixedLogHandler.write(
            "hub",
            "mash-hub stopped gracefully: \(parts.map(\.name).joined(separator: ", ")) finished what they held "
                + "and flushed their outboxes")
    }

    /// `mash.coordinator` → `coordinator`, `mash.adapter.police` → `police`, anything else by its last part.
    static func tag(of label: String) -> String {
        if label.hasPrefix("mash.adapter.") { return String(label.dropFirst("mash.adapter.".count)) }
        if label.hasPrefix("mash.desk.") { return "desk " + label.dropFirst("mash.desk.".count) }
        return label.split(separator: ".").last.map(String.init) ?? label
    }
}
