import Foundation
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
}
