import ArgumentParser
import Foundation

/// `mashctl`: the operator's and partner developer's command line for MASH Gateway.
public struct MashCtl: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mashctl",
        abstract: "Operate MASH Gateway and check sealed messages by hand.",
        discussion: """
            Keys, sealing, the calendar and the audit work offline; enquiry commands publish to the broker.

            Exit status: 0 success, 1 the operation failed (the message says why), 64 bad usage.
            """,
        subcommands: [
            Status.self, Enquiries.self, EnquiryCommand.self, DeadLetters.self, Audit.self, ConfigCommand.self,
            CalendarCommand.self, Keys.self, Seal.self, Open.self, Triage.self, Cases.self, Send.self, Retention.self,
            Subject.self, BreachCommand.self, Match.self, Missing.self, Contacts.self, Consultations.self,
            MeetingCommand.self, ChallengesCommand.self,
        ]
    )

    public init() {}

    /// Parses and runs the chosen command, async or not. (From a Linux `main.swift`, ArgumentParser's own
    /// async `main()` resolves to its synchronous overload, which refuses async commands.)
    public static func launch(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Failures the commands report: a message for the operator and a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum StandardStreams {
    static func readInput() -> [UInt8] {
        Array(FileHandle.standardInput.readDataToEndOfFile())
    }

    static func write(_ bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }

    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
