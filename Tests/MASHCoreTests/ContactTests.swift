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

@Suite("No-name consultations")
struct ConsultationTests {
    static let held = Date(timeIntervalSince1970: 1_796_000_000)
    static let consultation = Consultation(
        id: "n-1", reference: "NNC-20261207-ABC123", heldAt: held,
        professional: .init(staffID: "t.okoro", organisation: "Sample Primary", role: "Designated Safeguarding Lead"),
        concern: "A pupil in Year 4 comes to school hungry most days; her mum says money is short.",
        advice: "Talk to the family about Early Help and free school meals.", recommendation: .earlyHelp,
        socialWorker: "sw.bello")

    @Test("it round-trips; the recommendation and the professional are required")
    func roundTrip() throws {
        let now = Self.held.addingTimeInterval(60)
        #expect(try Consultation(json: Self.consultation.json, source: "t", now: now) == Self.consultation)
        var bad = try #require(
            try JSONSerialization.jsonObject(with: Data(Self.consultation.json)) as? [String: Any])
        bad["recommendation"] = "phone-a-friend"
        #expect(problem(bad) { _ = try Consultation(json: $0, source: "t", now: now) } == "recommendation")
        bad["recommendation"] = "early-help"
        bad["professional"] = ["organisation": "Sample Primary", "role": "DSL"]
        #expect(problem(bad) { _ = try Consultation(json: $0, source: "t", now: now) } == "professional.staffID")
    }

    @Test(
        "identifying details are refused: an NHS number (spaced or not), a UPN, a full postcode, a name with a date of birth",
        arguments: [
            ("Her NHS number is 943 476 5919.", "an NHS number"),
            ("NHS 9434765919 on the letter", "an NHS number"),
            ("UPN A123456789012 on the roll", "a unique pupil number"),
            ("They live at ME4 4AA now.", "a full postcode"),
            ("The girl, Ellie Testperson, born 14/03/2016, says", "a name with a date of birth"),
            ("A boy called Jayden, DOB 2015-02-02, in Year 5", "a name with a date of birth"),
        ])
    func refusesIdentifyingText(text: String, found: String) {
        #expect(IdentifyingDetails.find(in: text).contains(found), "\(text)")
        var named = Self.consultation
        named.concern = text
        #expect(
            problem(try! JSONSerialization.jsonObject(with: Data(named.json)) as! [String: Any]) {
                _ = try Consultation(json: $0, source: "t", now: Self.held.addingTimeInterval(60))
            } == "concern")
    }

    @Test(
        "anonymous descriptions pass: ages, year groups, an outward postcode, a date without a name, a phone number",
        arguments: [
            "A pupil in Year 4 comes to school hungry most days; her mum says money is short.",
            "A 9-year-old in the ME4 area said on 12/03/2026 that her stepdad shouts at her.",
            "The DSL can be reached on 01634 123456 after 3pm.",
            "Since Easter the child has missed Mondays. Mum says he is unwell.",
        ])
    func passesAnonymousText(text: String) {
        #expect(IdentifyingDetails.find(in: text).isEmpty, "\(text): \(IdentifyingDetails.find(in: text))")
    }

    @Test("a delivery receipt and a correction round-trip")
    func receiptsAndCorrections() throws {
        let now = Self.held.addingTimeInterval(60)
        let receipt = DeliveryReceipt(messageID: "m-1", kind: .consultation, about: "n-1", receivedAt: Self.held)
        #expect(try DeliveryReceipt(json: receipt.json, source: "t", now: now) == receipt)
        let correction = ConsultationCorrection(
            id: "k-1", consultationID: "n-1", reference: "NNC-20261207-ABC123", requestedBy: "t.okoro",
            text: "It was this term, not this half term.", requestedAt: Self.held)
        #expect(try ConsultationCorrection(json: correction.json, source: "t", now: now) == correction)
    }
}
