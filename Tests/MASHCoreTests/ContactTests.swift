import Foundation
import MASHCore
import Testing

private let sent = Date(timeIntervalSince1970: 1_796_000_000)

private let contact = Contact(
    id: "c-1", reference: "MC-100200", sentAt: sent,
    referrer: .init(staffID: "t.okoro", name: "Tayo Okoro", organisation: "Sample Primary", role: "DSL"),
    child: Person(forename: "Ellie", surname: "Testperson", dateOfBirth: LocalDate("2016-03-14")),
    household: [Person(role: "mother", forename: "Jo", surname: "Testperson")], concern: "Bruising",
    actionsTaken: "Told the head", parentsAware: false, consent: .notSought("it could put her at risk"))

private func problem(_ object: [String: Any], _ read: ([UInt8]) throws -> Void) -> String? {
    do {
        try read(DocumentWriter.encode(object))
        return nil
    } catch let error as DocumentError {
        return error.field
    } catch {
        return "\(error)"
    }
}

@Suite("The front door's documents")
struct ContactTests {
    func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test("a contact round-trips; its refusals name the member")
    func contacts() throws {
        let now = sent.addingTimeInterval(60)
        #expect(try Contact(json: contact.json, source: "t", now: now) == contact)
        let read = { (bytes: [UInt8]) in _ = try Contact(json: bytes, source: "t", now: now) }
        var bad = try object(contact.json)
        bad["consent"] = ["status": "refused"]
        #expect(problem(bad, read) == "consent.reason")
        bad["consent"] = ["status": "given"]
        #expect(problem(bad, read) == "parentsAware")
        bad = try object(contact.json)
        bad["household"] = [["forename": "Jo"]]
        #expect(problem(bad, read) == "household[0].role")
        bad = try object(contact.json)
        bad["concern"] = "  "
        #expect(problem(bad, read) == "concern")
        bad = try object(contact.json)
        bad["child"] = ["forename": "Ellie"]
        #expect(problem(bad, read) == "child.surname")
        bad = try object(contact.json)
        bad["sentAt"] = Instant.format(now.addingTimeInterval(3600))
        #expect(problem(bad, read) == "sentAt")
    }

    @Test("a screening: an enquiry only with mash-enquiry, and the enquiry it opens carries the contact")
    func screenings() throws {
        let now = sent.addingTimeInterval(600)
        let screening = Screening(
            contactID: "c-1", decision: .mashEnquiry,
            enquiry: .init(rag: .red, consent: .given(by: "mother", at: sent), agencies: ["police"]),
            rationale: "Disclosure", feedback: "The MASH will look into this today.", screenedBy: "rio.spa",
            screenedAt: sent.addingTimeInterval(300))
        #expect(try Screening(json: screening.json, source: "t", now: now) == screening)
        let read = { (bytes: [UInt8]) in _ = try Screening(json: bytes, source: "t", now: now) }
        var bad = try object(screening.json)
        bad["decision"] = "early-help"
        #expect(problem(bad, read) == "enquiry")
        bad = try object(screening.json)
        bad["enquiry"] = nil
        #expect(problem(bad, read) == "enquiry")
        bad = try object(screening.json)
        bad["feedback"] = ""
        #expect(problem(bad, read) == "feedback")

        let enquiry = try #require(
            screening.enquiry(
                id: "e-1", for: contact, receivedAt: now, lawfulBasis: LawfulBasis(article6: .publicTask)))
        #expect(enquiry.reference == "MC-100200" && enquiry.referrer == "rio.spa" && enquiry.rag == .red)
        #expect(enquiry.subject.forename == "Ellie" && enquiry.subject.role == "child")
        #expect(enquiry.household == contact.household && enquiry.agencies == ["police"])
        #expect(enquiry.reason.contains("Bruising") && enquiry.reason.contains("Told the head"))
        var nfa = screening
        nfa.decision = .noFurtherAction
        nfa.enquiry = nil
        #expect(nfa.enquiry(id: "e-2", for: contact, receivedAt: now, lawfulBasis: .init(article6: .publicTask)) == nil)
    }
}
