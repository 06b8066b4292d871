import Foundation
import MASHCore
import MASHTesting
import Testing

@testable import MASHControl

@Suite("mashctl calendar deadline")
struct CalendarCommandTests {
    private func deadline(_ arguments: [String]) throws -> CalendarCommand.Deadline {
        let holidays = Repository.path("Config/calendar/bank-holidays.json")
        return try #require(
            try MashCtl.parseAsRoot(["calendar", "deadline"] + arguments + ["--holidays", holidays])
                as? CalendarCommand.Deadline)
    }

    @Test("a Red enquiry at 16:00 on a Friday, local time: due Monday 12:15")
    func redFriday() throws {
        let text = try deadline(["--rag", "red", "--opened", "2026-11-20T16:00"]).render()
        #expect(text.contains("partners due      Mon 23 Nov 2026 12:15"))
    }

    @Test("--json gives UTC instants that match the table")
    func json() throws {
        let output = try deadline(["--rag", "amber", "--opened", "2026-12-24T10:30:00Z", "--json"]).render()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
        #expect(object["decisionDue"] == "2026-12-29T10:30:00Z")
        #expect(object["rag"] == "amber")
    }

    @Test("an unreadable --opened and an unknown RAG are usage errors naming the option")
    func badInput() throws {
        #expect(throws: (any Error).self) {
            try MashCtl.parseAsRoot(["calendar", "deadline", "--rag", "purple", "--opened", "x"])
        }
        #expect {
            try deadline(["--rag", "red", "--opened", "next tuesday"]).render()
        } throws: { error in
            "\(error)".contains("--opened 'next tuesday'")
        }
    }

    @Test("status warns from 90 days before the bank-holiday file's last date, and is critical after it")
    func calendarEnd() throws {
        let data = try #require(
            FileManager.default.contents(atPath: Repository.path("Config/calendar/bank-holidays.json")))
        let last = try #require(try BankHolidays.englandAndWales(fromGOVUK: data, source: "shipped").max())
        func finding(daysBefore: Int) -> String? {
            GovernanceChecks.calendar(
                lastHoliday: last, today: LocalDate(daysSinceEpoch: last.daysSinceEpoch - daysBefore), file: "f"
            ).map { "\($0.level.label): \($0.message)" }
        }
        #expect(
            finding(daysBefore: 80)
                == "WARNING: the bank-holiday file ends on \(last) (in 80 days): import GOV.UK's new file with mashctl calendar import"
        )
        #expect(finding(daysBefore: 91) == nil)
        #expect(finding(daysBefore: -1)?.hasPrefix("CRITICAL: the bank-holiday file ended on \(last)") == true)
    }

    @Test("calendar import takes a newer GOV.UK file, lists days it drops, and refuses an older or broken one")
    func importFile() throws {
        let scratch = try ScratchDirectory("calendar-import")
        defer { scratch.remove() }
        let inUse = scratch.file("bank-holidays.json")
        try FileManager.default.copyItem(atPath: Repository.path("Config/calendar/bank-holidays.json"), toPath: inUse)
        func run(_ file: String) throws -> String {
            let command = try #require(
                try MashCtl.parseAsRoot(["calendar", "import", file, "--holidays", inUse]) as? CalendarCommand.Import)
            return try command.importFile()
        }
        func write(_ dates: [String], to name: String) throws -> String {
            let events = dates.map { #"{"title": "Bank holiday", "date": "\#($0)", "notes": "", "bunting": true}"# }
            let path = scratch.file(name)
            try
                #"{"england-and-wales": {"division": "england-and-wales", "events": [\#(events.joined(separator: ","))]}}"#
                .write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let held = try BankHolidays.englandAndWales(
            fromGOVUK: try #require(FileManager.default.contents(atPath: inUse)), source: inUse
        ).sorted()
        let last = try #require(held.last)
        let older = try write(held.dropLast().map(\.description), to: "older.json")
        #expect(throws: (any Error).self) { try run(older) }
        #expect(throws: (any Error).self) { try run(try write(["2029-13-01"], to: "broken.json")) }
        // Newer: one more year, and one of the old days moved.
        let moved = held[held.count - 2]
        let newer =
            held.filter { $0 != moved }.map(\.description) + ["\(last.year + 1)-01-01", "\(last.year + 1)-12-25"]
        let output = try run(try write(newer, to: "newer.json"))
        #expect(output.contains("ends on \(last)"))
        #expect(output.contains("no longer a bank holiday in the new file: \(moved)"))
        #expect(output.contains("imported"))
        let now = try BankHolidays.englandAndWales(
            fromGOVUK: try #require(FileManager.default.contents(atPath: inUse)), source: inUse)
        #expect(now.max()?.year == last.year + 1 && !now.contains(moved))
    }
}
