import ArgumentParser
import Foundation
import MASHCore
import MASHProtocol
import MASHReadModel

/// `mashctl triage`: the daily DAN triage list.
struct Triage: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The daily DAN triage: the Medium and Standard notifications waiting for a meeting.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the DANs going to one day's triage, with their pre-triage flags.",
            discussion: """
                Shows ids, levels, the risk tool, flags, counts and each DAN's triage outcome (or 'waiting'); no \
                names (the Practice Manager's desk shows the DANs and records the outcomes). Below the list: how \
                many DANs the hub received that day, each copied to Probation.

                Example:
                  mashctl triage list --date 2026-11-24
                """)

        @Option(help: "The triage date (YYYY-MM-DD). Default: today in Europe/London.")
        var date: String?

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

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
            let report = try storeOption.open().triage(on: day)
            if json {
                FileHandle.standardOutput.write(Data(try JSONOutput.encode(report)))
                return
            }
            print("DAN triage on \(day): \(report.triage.count) notification\(report.triage.count == 1 ? "" : "s")")
            if !report.triage.isEmpty {
                let formatter = DateFormatter()
                formatter.timeZone = TimeZone(identifier: "Europe/London")
                formatter.dateFormat = "yyyy-MM-dd HH:mm"
                print(
                    Format.row([
                        ("DAN", -36), ("RECEIVED", -16), ("LEVEL", -9), ("CHILDREN", 8), ("TRIAGED", -22),
                        ("FLAGS", -60),
                    ]))
                for entry in report.triage {
                    let level = entry.level == entry.assessedLevel ? entry.level : "\(entry.level)*"
                    let flags = entry.flags.isEmpty ? "-" : entry.flags.joined(separator: ", ")
                    let cells: [(String, Int)] = [
                        (entry.dan, -36), (formatter.string(from: entry.receivedAt), -16), (level, -9),
                        ("\(entry.children)", 8), (entry.decision ?? "waiting", -22), (flags, -60),
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

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a CSV export of open and closed cases to the coordinator, which applies it whole.",
            discussion: """
                Columns (header row, any order, case and spaces ignored): \
                \(OpenCaseRegisterImport.csvColumns.joined(separator: ", ")). Status is open or closed; DOB is \
                YYYY-MM-DD. The file is checked here first: a bad row refuses the whole file, naming its line, and \
                nothing is sent. The cases then go to the coordinator sealed, as a mash.open-case-register/1 signed \
                with your own staff key (--staff; the operator role); the coordinator applies them in one transaction (children kept as keyed \
                pseudonyms, the allocation sealed with its data key) and records who imported them. This command \
                waits until it has.

                Example:
                  mashctl cases import open-cases.csv --staff j.smith
                """)

        @Argument(help: "The CSV file.")
        var file: String

        @OptionGroup var staff: StaffOptions
        @OptionGroup var hub: HubOptions

        @Option(help: "Seconds to wait for the coordinator to apply the file.")
        var timeout: Int = 60

        func validate() throws { _ = try staff.id() }

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            let cases = try OpenCaseRegisterImport.cases(csv: Array(data), source: file)
            let register = OpenCaseRegisterImport(
                importedBy: try staff.id(), source: (file as NSString).lastPathComponent, cases: cases)
            let action = try await staff.request(
                register.json, type: .openCaseRegister, what: "import of \(file)", hub: hub, wait: TimeInterval(timeout)
            )
            print("\(file): \(action.summary)")
        }
    }
}
