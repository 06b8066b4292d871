import ArgumentParser
import Foundation

/// `mashctl`: the operator's and partner developer's command line for MASH Gateway.
/// Synchronous for now: none of its commands awaits anything yet. When one does (broker status), make this an
/// `AsyncParsableCommand` and start it from an `@main` type: a `main.swift` calling `await main()` picks the
/// synchronous overload, which refuses async roots at run time.
public struct MashCtl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "mashctl",
        abstract: "Operate MASH Gateway and check sealed messages by hand.",
        discussion: """
            Keys and sealing work offline. Commands that talk to the broker or the coordinator arrive with those \
            services.

            Exit status: 0 success, 1 the operation failed (the message says why), 64 bad usage.
            """,
        subcommands: [Keys.self, Seal.self, Open.self, CalendarCommand.self]
    )

    public init() {}
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
