import ArgumentParser
import Coordinator
import Foundation
import GRDB
import MASHCore

/// `mashctl triage`: the daily DAN triage list.
struct Triage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The daily DAN triage: the Medium and Standard notifications waiting for a meeting.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the DANs going to one day's triage, with their pre-triage flags.",
            discussion: """
                Shows ids, levels, the risk tool, flags and counts; no names (open a DAN with the Practice \
                Manager's tools). Below the list: how many DANs the hub received that day, each copied to \
                Probation.

                Example:
                  mashctl triage list --date 2026-11-24
                """)

        @Option(help: "The triage date (YYYY-MM-DD). Default: today in Europe/London.")
        var date: String?

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        struct Entry: Encodable {
            var dan: String
            var receivedAt: Date
            var level: String
            var assessedLevel: String
            var tool: String
            var flags: [String]
            var children: Int
            var encompassNotices: Int
        }

        struct Report: Encodable {
            var date: String
            var triage: [Entry]
            var receivedThatDay: Int
            var copiedToProbation: Int
        }

        func run() throws {
            let day: String
            if let date {
                guard LocalDate(date) != nil else {
                    throw ValidationError("--date '\(date)' is not YYYY-MM-DD")
                }
                day = date
            } else {
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "Europe/London")!
                let c = calendar.dateComponents([.year, .month, .day], from: Date())
                day = LocalDate(year: c.year!, month: c.month!, day: c.day!).description
            }
            let store = try storeOption.open()
            let report = try store.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, received_at, level, effective_level, tool, flags, children, notices FROM dan
                        WHERE triage_date = ? ORDER BY received_at
                        """, arguments: [day])
                let received =
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dan WHERE received_date = ?", arguments: [day]) ?? 0
                return Report(
                    date: day,
                    triage: rows.map { row in
                        let flags: String = row["flags"]
                        return Entry(
                            dan: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                            level: row["effective_level"], assessedLevel: row["level"], tool: row["tool"],
                            flags: flags.isEmpty ? [] : flags.split(separator: ",").map(String.init),
                            children: row["children"], encompassNotices: row["notices"])
                    }, receivedThatDay: received, copiedToProbation: received)
            }
            if json {
                FileHandle.standardOutput.write(Data(try JSONOutput.encode(report)))
                return
            }
            print("DAN triage on \(day): \(report.triage.count) notification\(report.triage.count == 1 ? "" : "s")")
            if !report.triage.isEmpty {
                let formatter = DateFormatter()
                formatter.timeZone = TimeZone(identifier: "Europe/London")
                formatter.dateFormat = "yyyy-MM-dd HH:mm"
                print(Format.row([("DAN", -36), ("RECEIVED", -16), ("LEVEL", -9), ("CHILDREN", 8), ("FLAGS", -60)]))
                for entry in report.triage {
                    let level = entry.level == entry.assessedLevel ? entry.level : "\(entry.level)*"
                    let flags = entry.flags.isEmpty ? "-" : entry.flags.joined(separator: ", ")
                    let cells: [(String, Int)] = [
                        (entry.dan, -36), (formatter.string(from: entry.receivedAt), -16), (level, -9),
                        ("\(entry.children)", 8), (flags, -60),
                    ]
                    print(Format.row(cells))
                }
                if report.triage.contains(where: { $0.level != $0.assessedLevel }) {
                    print("* raised by professional judgement above the tool's level")
                }
            }
            print("DANs received on \(day): \(report.receivedThatDay), each copied to Probation")
        }
    }
}

/// `mashctl cases import`: the CSC open-case register from a CSV export.
struct Cases: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The CSC open-case register that routes DANs about open children to their social worker.",
        subcommands: [Import.self])

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply a CSV export of open and closed cases to the coordinator's register.",
            discussion: """
                Columns (header row, any order, case and spaces ignored): \
                \(OpenCaseRegister.csvColumns.joined(separator: ", ")). Status is open or closed; DOB is \
                YYYY-MM-DD. A bad row refuses the whole file, naming its line; nothing is applied. Children are \
                kept as keyed pseudonyms, the allocation sealed with the coordinator's data key.

                Example:
                  mashctl cases import open-cases.csv --keys .build/keys
                """)

        @Argument(help: "The CSV file.")
        var file: String

        @Option(help: "The coordinator's key directory (its data-at-rest key).")
        var keys: String = ".build/keys"

        @Option(help: "The coordinator's SQLite store.")
        var store: String = ".build/coordinator/coordinator.sqlite"

        func run() throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            guard FileManager.default.fileExists(atPath: store) else {
                throw ValidationError("no coordinator store at \(store) (start the coordinator once, or pass --store)")
            }
            let register = try OpenCaseRegister(keysDirectory: keys)
            let applied = try register.importCSV(Array(data), source: file, into: try CoordinatorStore(path: store))
            print("\(file): \(applied.opened) open, \(applied.closed) closed")
        }
    }
}
