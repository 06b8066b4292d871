import Foundation
import MASHCore
import Testing

@Suite("Corrections: the operator's request, each recipient's copy and its receipt")
struct CorrectionDocumentTests {
    static let request = SubjectRequest(
        requestedBy: "dpo.khan", reason: "R-2026-12", references: [String(repeating: "a", count: 32)],
        at: Date(timeIntervalSince1970: 1_795_000_000), expiresAt: Date(timeIntervalSince1970: 1_795_000_030))
    static let amy = Person(forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01"))

    func problem(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch let error as DocumentError {
            return "\(error.field): \(error.problem)"
        } catch {
            return "\(error)"
        }
    }

    func read(_ object: [String: Any]) throws -> SubjectCorrection {
        try SubjectCorrection(json: DocumentWriter.encode(object), source: "test")
    }

    var rectify: [String: Any] {
        var object =
            try! JSONSerialization.jsonObject(
                with: Data(SubjectCorrection(.erase, Self.request, person: Self.amy).json)) as! [String: Any]
        object["action"] = "rectify"
        object["corrected"] = ["dateOfBirth": "2019-03-10"]
        return object
    }

    @Test("each action round-trips; rectify needs corrected fields, an opinion a note, and each only its own")
    func actions() throws {
        let erase = SubjectCorrection(.erase, Self.request, person: Self.amy, enquiryID: "e-1")
        #expect(try SubjectCorrection(json: erase.json, source: "test") == erase)
        let corrected = try read(rectify)
        #expect(corrected.corrected == Person(dateOfBirth: LocalDate("2019-03-10")))

        var missing = rectify
        missing["corrected"] = nil
        #expect(problem { try read(missing) } == "corrected: is required to rectify")
        var empty = rectify
        empty["corrected"] = [String: Any]()
        #expect(problem { try read(empty) } == "corrected: must give at least one field")
        var badNHS = rectify
        badNHS["corrected"] = ["nhsNumber": "1234567890"]
        #expect(problem { try read(badNHS) }?.hasPrefix("corrected.nhsNumber: is not an NHS number") == true)
        var erasing = rectify
        erasing["action"] = "erase"
        #expect(problem { try read(erasing) } == "corrected: is only for rectify")
        var opinion = rectify
        opinion["action"] = "mark-opinion-incorrect"
        opinion["corrected"] = nil
        #expect(problem { try read(opinion) } == "note: must say which opinion is incorrect and why")
        var restriction = rectify
        restriction["action"] = "restrict"
        #expect(problem { try read(restriction) }?.hasPrefix("action: must be rectify, erase or") == true)
        var nameless = rectify
        nameless["person"] = ["forename": "Amy", "dateOfBirth": "2019-03-01"]
        #expect(problem { try read(nameless) } == "person.surname: is required")
    }

    @Test("a copy names the disclosures; a receipt says how many copies changed")
    func copyAndReceipt() throws {
        let copy = Correction(
            correctionID: "c-1", copyID: "k-1", action: .restrict, reason: "R-1", requestedAt: Self.request.at,
            respondBy: Self.request.expiresAt, person: nil, corrected: nil, note: nil, cases: ["e-1"],
            messages: ["m-1", "m-2"])
        #expect(try Correction(json: copy.json, source: "test") == copy)
        var none = copy
        none.messages = []
        #expect(
            problem { try Correction(json: none.json, source: "test") } == "messages: must name at least one message")
        let receipt = CorrectionReceipt(
            correctionID: "c-1", copyID: "k-1", result: .notHeld, copies: 0, at: Self.request.at)
        #expect(try CorrectionReceipt(json: receipt.json, source: "test") == receipt)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(receipt.json)) as? [String: Any])
        object["copies"] = -1
        #expect(
            problem { try CorrectionReceipt(json: DocumentWriter.encode(object), source: "test") }
                == "copies: is required: how many copies were changed (0 or more)")
    }

    @Test("a person is found by name and date of birth or by NHS number, and corrected field by field")
    func personMatching() {
        let keys = Set(Self.amy.referenceKeys)
        #expect(Person(forename: "AMY", surname: "carter", dateOfBirth: LocalDate("2019-03-01")).isNamed(by: keys))
        #expect(!Person(forename: "Ben", surname: "Carter", dateOfBirth: LocalDate("2012-05-05")).isNamed(by: keys))
        let byNHS = Set(Person(nhsNumber: "943 476 5919").referenceKeys)
        #expect(Person(forename: "X", surname: "Y", nhsNumber: "9434765919").isNamed(by: byNHS))
        var held = Self.amy
        held.postcode = "ME1 1AA"
        let fixed = held.correcting(Person(surname: "Carter-Smith"))
        #expect(fixed.surname == "Carter-Smith" && fixed.forename == "Amy" && fixed.postcode == "ME1 1AA")
    }
}
