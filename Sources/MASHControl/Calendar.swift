import ArgumentParser
import Foundation
import MASHCore

struct CalendarCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calendar",
        abstract: "The MASH working calendar and SLA deadlines.",
        subcommands: [Deadline.self, Import.self]
    )

    struct Deadline: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the partner and decision deadlines the coordinator would set for an enquiry.",
            discussion: """
                Working hours: Monday to Thursday 09:00–17:15, Friday 09:00–16:45 (Europe/London), England and \
                Wales bank holidays excluded. Red: partner information and decision within 4 working hours. \
                Amber and Green: by the same time on the next working day, no later than that day's closing. A \
                contact received out of hours counts from the next opening. Warnings go out at 75 % of the time.

                Examples:
                  mashctl calendar deadline --rag red --opened 2026-11-20T16:00
                  mashctl calendar deadline --rag amber --opened 2026-12-24T10:30:00Z --json
                """
        )

        @Option(help: "The enquiry's RAG rating: red, amber or green.")
        var rag: RAG

        @Option(
            help: """
                When the contact was received, ISO 8601: with Z or an offset (2026-11-20T16:00:00Z), or without \
                one for UK local time (2026-11-20T16:00).
                """)
        var opened: String

        @Option(help: "GOV.UK's bank holidays file.")
        var holidays: String = "Config/calendar/bank-holidays.json"

        @Flag(help: "Print JSON (instants in UTC, ISO 8601) instead of the table.")
        var json = false

        func run() throws {
            print(try render())
        }

        func render() throws -> String {
            guard let data = FileManager.default.contents(atPath: holidays) else {
                throw CommandFailure("\(holidays): cannot read the bank holidays file (give its path with --holidays)")
            }
            let calendar = WorkingCalendar.mash(
                holidays: try BankHolidays.englandAndWales(fromGOVUK: data, source: holidays))
            guard let openedAt = Deadline.parse(opened, in: calendar) else {
                throw ValidationError(
                    "--opened '\(opened)' is not an ISO 8601 time (2026-11-20T16:00:00Z or 2026-11-20T16:00)")
            }
            let d = SLAPolicy.mashDefault.deadlines(for: rag, openedAt: openedAt, calendar: calendar)
            if json {
                let iso = ISO8601DateFormatter()
                let object: [String: String] = [
                    "rag": rag.rawValue, "opened": iso.string(from: openedAt),
                    "countedFrom": iso.string(from: d.countedFrom),
                    "partnersDue": iso.string(from: d.partnersDue),
                    "partnersWarning": iso.string(from: d.partnersWarning),
                    "decisionDue": iso.string(from: d.decisionDue),
                    "decisionWarning": iso.string(from: d.decisionWarning),
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                return String(decoding: data, as: UTF8.self)
            }
            let local = DateFormatter()
            local.locale = Locale(identifier: "en_GB")
            local.timeZone = calendar.timeZone
            local.dateFormat = "EEE d MMM yyyy HH:mm zzz"
            return """
                \(rag.rawValue.capitalized) enquiry received \(local.string(from: openedAt))
                  clocks start      \(local.string(from: d.countedFrom))
                  partners due      \(local.string(from: d.partnersDue))   (warning \(local.string(from: d.partnersWarning)))
                  decision due      \(local.string(from: d.decisionDue))   (warning \(local.string(from: d.decisionWarning)))
                """
        }

        static func parse(_ text: String, in calendar: WorkingCalendar) -> Date? {
            let withOffset = ISO8601DateFormatter()
            if let date = withOffset.date(from: text) { return date }
            withOffset.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = withOffset.date(from: text) { return date }
            let local = DateFormatter()
            local.locale = Locale(identifier: "en_US_POSIX")
            local.timeZone = calendar.timeZone
            for format in ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm"] {
                local.dateFormat = format
                if let date = local.date(from: text) { return date }
            }
            return nil
        }
    }
}

extension CalendarCommand {
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the bank-holiday file with GOV.UK's newer one, after checking it.",
            discussion: """
                GOV.UK publishes England and Wales bank holidays about two years ahead at \
                https://www.gov.uk/bank-holidays.json. When `mashctl status` warns that the file ends within 90 \
                days, download the new one and import it: it must have an "england-and-wales" list of valid \
                dates that reaches at least as far as the file in use. Days the old file had and the new one \
                lacks are listed (GOV.UK does move a holiday now and then). The file is replaced in one rename; \
                restart mash-coordinator (and mash-hub) to use it.

                Example:
                  curl -fsSo /tmp/bank-holidays.json https://www.gov.uk/bank-holidays.json
                  mashctl calendar import /tmp/bank-holidays.json --holidays /etc/mash/calendar/bank-holidays.json
                """)

        @Argument(help: "GOV.UK's bank holidays file (JSON).")
        var file: String

        @Option(help: "The file the coordinator reads, replaced by the import.")
        var holidays: String = "Config/calendar/bank-holidays.json"

        func run() throws {
            print(try importFile())
        }

        func importFile() throws -> String {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("\(file): cannot read the file")
            }
            let incoming = try BankHolidays.englandAndWales(fromGOVUK: data, source: file)
            guard let last = incoming.max(), let first = incoming.min() else {
                throw CommandFailure("\(file): england-and-wales lists no bank holidays")
            }
            var lines = ["\(file): \(incoming.count) England and Wales bank holidays, \(first) to \(last)"]
            if let current = FileManager.default.contents(atPath: holidays) {
                let held = try BankHolidays.englandAndWales(fromGOVUK: current, source: holidays)
                if let heldLast = held.max() {
                    guard last >= heldLast else {
                        throw CommandFailure(
                            "\(file) ends on \(last), before the file in use (\(holidays), to \(heldLast)): not imported"
                        )
                    }
                    lines.append("replaces \(holidays), which ends on \(heldLast)")
                }
                let dropped = held.filter { $0 >= first && $0 <= last && !incoming.contains($0) }.sorted()
                if !dropped.isEmpty {
                    lines.append(
                        "no longer a bank holiday in the new file: "
                            + dropped.map(\.description).joined(separator: ", "))
                }
            }
            try DurableFile.replace(holidays, with: data)
            lines.append("imported: restart mash-coordinator (or mash-hub) to use it")
            return lines.joined(separator: "\n")
        }
    }
}

extension RAG: ExpressibleByArgument {}
