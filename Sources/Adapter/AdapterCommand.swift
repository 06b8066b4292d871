import AMQP
import ArgumentParser
import Foundation
import Logging
import MASHAgency
import MASHCore
import MASHRuntime
import MASHService
import ServiceLifecycle

/// `mash-adapter`: one agency's adapter, driven entirely by its configuration file (`run`, the default), and
/// what the agency's staff or its case system do through it: challenge a MASH decision, list its challenges.
public struct AdapterCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mash-adapter",
        abstract: "One agency's MASH adapter: research enquiries in the agency's records and answer the hub.",
        discussion: """
            `mash-adapter --config <file>` runs the adapter (the `run` subcommand, the default). `challenge` \
            challenges the MASH's decision on an enquiry the agency answered; `challenges` lists those raised.
            """,
        subcommands: [Run.self, RaiseChallenge.self, ListChallenges.self], defaultSubcommand: Run.self)

    public init() {}
}

extension AdapterCommand {
    public struct Run: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Run the adapter: research enquiries in the agency's records and answer the hub.",
            discussion: """
                Everything about the agency is in its configuration file: its broker user and queue, its keys, the \
                fields it receives and may disclose with their data categories, its lawful basis, and its research \
                backend (csv, sqlite, command or http). The file is checked at start; errors name the file, line \
                and key. `mashctl config validate <file>` runs the same checks without starting.

                Requests are stored (encrypted) and acked at once, researched from the store, and answered through \
                an outbox, so SIGTERM, SIGINT or even kill -9 lose nothing: the next start carries on.

                Example:
                  mash-adapter --config Config/agencies/police.yaml
                """)

        @Option(help: "The agency's configuration file (Config/agencies/<id>.yaml).")
        var config: String

        @Option(
            help:
                "Broker URL with password, overriding the file's url and passwordFile. Default: $MASH_ADAPTER_URL, if set."
        )
        var broker: String?

        @Option(
            help: """
                Local port serving /metrics and /health on 127.0.0.1, overriding the file's operationsPort; 0 picks a \
                free port, off serves none.
                """)
        var operationsPort: OperationsPort?

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel: Logger.Level = .info

        public init() {}

        public func run() async throws {
            var configuration = try AdapterConfiguration.load(file: config)
            if let operationsPort { configuration.operationsPort = operationsPort.port }
            var logger = Logger(label: "mash.adapter.\(configuration.agency)")
            logger.logLevel = logLevel
            let url = try configuration.brokerURL(
                override: broker ?? ProcessInfo.processInfo.environment["MASH_ADAPTER_URL"])
            let adapter = try Adapter(configuration: configuration, broker: url, logger: logger)
            let services = adapter.services { FileHandle.standardOutput.write(Data((adapter.readyLine + "\n").utf8)) }
            try await ServiceGroup.runGracefully(services, logger: logger, signals: true)
            logger.notice("stopped gracefully: the outbox flushed")
        }
    }
}

extension AdapterCommand {
    /// `mash-adapter challenge`: the agency disagrees with the MASH's decision on an enquiry it answered.
    struct RaiseChallenge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "challenge",
            abstract: "Challenge the MASH's decision on an enquiry this agency answered, in writing.",
            discussion: """
                The protocol's dispute route: the challenge goes to the First Response Area Manager, who records \
                each stage (discussed at the MASH meeting, with the Area Manager, raised with senior staff, at the \
                Operation Group, resolved); each stage comes back to this adapter, is kept in its store and passed \
                to the agency's system like an outcome (`outcomes:` in the configuration). \
                `mash-adapter challenges` lists them.

                The adapter's store must hold a request of the enquiry and the hub's outcome for it (only an agency \
                that answered may challenge, and only a decision). The challenge is committed to the adapter's \
                outbox: a running adapter sends it within seconds, a stopped one when it next starts. It prints \
                the challenge's id.

                Example:
                  mash-adapter challenge --config Config/agencies/police.yaml \\
                    --enquiry 6f1c… --staff ds.hughes --name "DS Hughes" --role "MASH sergeant" \\
                    --grounds-file grounds.txt
                """)

        @Option(help: "The agency's configuration file (Config/agencies/<id>.yaml).")
        var config: String

        @Option(help: "The enquiry whose decision is challenged (its id, as in the outcome).")
        var enquiry: String

        @Option(help: "The member of staff raising it: their id at the agency.")
        var staff: String

        @Option(help: "Their name, as the Area Manager will see it.")
        var name: String

        @Option(help: "Their role (\"MASH sergeant\").")
        var role: String

        @Option(help: "Why the decision is wrong and what is asked for instead, in words.")
        var grounds: String?

        @Option(help: "A file holding the grounds (instead of --grounds).")
        var groundsFile: String?

        func validate() throws {
            guard (grounds == nil) != (groundsFile == nil) else {
                throw ValidationError("give the grounds with --grounds or --grounds-file (one of them)")
            }
        }

        func run() async throws {
            let configuration = try AdapterConfiguration.load(file: config)
            let text = try grounds ?? String(contentsOfFile: groundsFile!, encoding: .utf8)
            guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw ValidationError("the grounds are empty: say why the decision is wrong")
            }
            let challenge = Challenge(
                id: UUID().uuidString.lowercased(), enquiryID: enquiry,
                raisedBy: .init(staffID: staff, name: name, role: role),
                grounds: text.trimmingCharacters(in: .whitespacesAndNewlines),
                raisedAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
            _ = try await Adapter.raise(challenge, configuration: configuration)
            print(challenge.id)
            FileHandle.standardError.write(
                Data(
                    ("challenge \(challenge.id) to the decision on enquiry \(enquiry) committed to the outbox; "
                        + "the adapter sends it to the hub\n").utf8))
        }
    }

    /// `mash-adapter challenges`: the challenges this agency raised and where each stands.
    struct ListChallenges: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "challenges",
            abstract: "The challenges this agency raised, the newest first, with the last stage the hub told.",
            discussion: """
                Ids, staff ids, times and stages only; the grounds and each stage's note stay sealed in the store \
                (the agency's system is given them through `outcomes:`).

                Example:
                  mash-adapter challenges --config Config/agencies/police.yaml --json
                """)

        @Option(help: "The agency's configuration file (Config/agencies/<id>.yaml).")
        var config: String

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let lines = try Adapter.challenges(configuration: try AdapterConfiguration.load(file: config))
            if json {
                let encoder = JSONEncoder()
                encoder.dateEncodingStrategy = .iso8601
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                FileHandle.standardOutput.write(try encoder.encode(lines) + Data("\n".utf8))
                return
            }
            guard !lines.isEmpty else { return print("No challenges raised.") }
            print("CHALLENGE                             ENQUIRY                               RAISED BY      STAGE")
            for line in lines {
                print(
                    line.challengeID.padding(toLength: 38, withPad: " ", startingAt: 0)
                        + line.enquiryID.padding(toLength: 38, withPad: " ", startingAt: 0)
                        + line.raisedBy.padding(toLength: 15, withPad: " ", startingAt: 0) + line.stage)
            }
        }
    }
}
