import ArgumentParser
import Foundation
import HummingbirdBcrypt
import Logging
import MASHAgency
import MASHService
import ServiceLifecycle

/// `mash-desk`: one party's desk, driven by its configuration file; `mash-desk user add` makes staff accounts.
public struct DeskCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mash-desk",
        abstract: "Run one party's MASH desk: the web pages its staff read and act on the hub's items with.",
        discussion: """
            A desk takes the party's items from its queue (decision packages, alerts, outcomes, Encompass \
            notices …), stores them encrypted, and serves them over HTTPS to the staff listed in its file. \
            Decisions and acknowledgements go to the hub signed by the party, with the staff id in them.

            Examples:
              mash-desk --config Config/desks/decision-maker.yaml
              mash-desk user add --config Config/desks/decision-maker.yaml --id dm.patel --name "Priya Patel"
            """,
        subcommands: [Serve.self, User.self], defaultSubcommand: Serve.self)

    public init() {}

    public struct Serve: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "serve", abstract: "Run the desk (the default).")

        @Option(help: "The desk's configuration file (Config/desks/<party>.yaml).")
        var config: String

        @Option(
            help:
                "Broker URL with password, overriding the file's url and passwordFile. Default: $MASH_DESK_URL, if set."
        )
        var broker: String?

        @Option(help: "Port for the pages, overriding the file's web.port (0 picks a free port).")
        var port: Int?

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel: Logger.Level = .info

        public init() {}

        public func run() async throws {
            var configuration = try DeskConfiguration.load(file: config)
            if let port { configuration.port = port }
            var logger = Logger(label: "mash.desk.\(configuration.party)")
            logger.logLevel = logLevel
            let url = try configuration.brokerURL(
                override: broker ?? ProcessInfo.processInfo.environment["MASH_DESK_URL"])
            let desk = try Desk(configuration: configuration, broker: url, logger: logger)
            let services = try desk.services { FileHandle.standardOutput.write(Data((desk.readyLine + "\n").utf8)) }
            try await ServiceGroup.runGracefully(services, logger: logger, signals: true)
            logger.notice("stopped gracefully: the outbox flushed")
        }
    }

    public struct User: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "user", abstract: "Manage the staff who may sign in to a desk.", subcommands: [Add.self])

        public init() {}
    }

    public struct Add: AsyncParsableCommand {
        public static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a member of staff to a desk's file (asks for the password; stores only its bcrypt hash).",
            discussion: """
                The account is appended to the file's `staff:` list, which must be the last section of the file. \
                Restart the desk to let them sign in. Without a terminal (a script), --password-stdin reads the \
                password from the first line of standard input.
                """)

        @Option(help: "The desk's configuration file.")
        var config: String

        @Option(help: "The staff id they sign in with (letters, digits, '.', '-', '_').")
        var id: String

        @Option(help: "Their name as the pages show it.")
        var name: String

        @Option(
            help: ArgumentHelp(
                "A role they hold on this desk (repeat for more): spa screens contacts and records consultations; area-manager moves challenges to decisions on along the dispute route.",
                valueName: "role"))
        var role: [String] = []

        @Option(help: "On a portal: their organisation, as their contacts name it (\"Riverside Primary School\").")
        var organisation: String?

        @Option(help: "On a portal: their job title (\"Designated Safeguarding Lead\").")
        var jobTitle: String?

        @Flag(help: "Read the password from standard input instead of prompting.")
        var passwordStdin = false

        public init() {}

        public func validate() throws {
            guard DeskConfiguration.isStaffID(id) else {
                throw ValidationError("--id '\(id)': use letters, digits, '.', '-' or '_' (at most 64)")
            }
            for (option, text) in [
                ("--name", name), ("--organisation", organisation ?? "x"), ("--job-title", jobTitle ?? "x"),
            ]
            where text.isEmpty || text.contains("\"") || text.contains("\n") || text.contains("\\") {
                throw ValidationError("\(option) must be words without quotes, backslashes or new lines")
            }
            for text in role where DeskRole(rawValue: text) == nil {
                throw ValidationError(
                    "--role '\(text)' is not a role: \(DeskRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        public func run() async throws {
            let current = try DeskConfiguration.load(file: config)
            guard !current.staff.contains(where: { $0.id == id }) else {
                throw ValidationError("\(config): staff id '\(id)' is already listed")
            }
            let password = try readPassword()
            guard password.count >= 12 else { throw ValidationError("the password must be at least 12 characters") }
            let hash = Bcrypt.hash(password, cost: 12)
            var text = try String(contentsOfFile: config, encoding: .utf8)
            if let range = text.range(of: "\nstaff: []") {
                text.replaceSubrange(range, with: "\nstaff:")
            } else if !text.contains("\nstaff:") {
                text += (text.hasSuffix("\n") ? "" : "\n") + "staff:"
            }
            if !text.hasSuffix("\n") { text += "\n" }
            var entry = "id: \(id), name: \"\(name)\""
            if !role.isEmpty { entry += ", roles: [\(role.joined(separator: ", "))]" }
            if let organisation { entry += ", organisation: \"\(organisation)\"" }
            if let jobTitle { entry += ", jobTitle: \"\(jobTitle)\"" }
            text += "  - { \(entry), passwordHash: \"\(hash)\" }\n"
            // Checked before it is written: a file this makes must load.
            _ = try DeskConfiguration(yaml: text, file: config)
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            print("mash-desk: \(id) (\(name)) added to \(config); restart the desk to let them sign in")
        }

        private func readPassword() throws -> String {
            if passwordStdin || isatty(0) == 0 {
                guard let line = readLine(strippingNewline: true) else {
                    throw ValidationError("no password on standard input")
                }
                return line
            }
            guard let first = getpass("Password for \(id): ").map({ String(cString: $0) }),
                let second = getpass("Again: ").map({ String(cString: $0) })
            else { throw ValidationError("no password given") }
            guard first == second else { throw ValidationError("the two passwords differ") }
            return first
        }
    }
}
