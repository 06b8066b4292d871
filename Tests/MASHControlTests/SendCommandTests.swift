import Foundation
import MASHCore
import MASHTesting
import Testing

@testable import MASHControl

@Suite("mashctl send: documents checked as the hub reads them, routed by type")
struct SendCommandTests {
    let notification = """
        {"schema": "mash.domestic-abuse-notification/1", "id": "dan-1", "policeReference": "46/1234/26",
         "occurredAt": "2026-11-20T22:10:00Z", "place": "home address", "circumstances": "verbal argument",
         "riskAssessment": {"tool": "DASH", "toolVersion": "2009", "level": "medium", "uplift": "high",
                            "upliftReason": "escalation"},
         "adults": [{"role": "victim", "forename": "Jo", "surname": "Testperson"}],
         "children": [{"forename": "Ellie", "surname": "Testperson", "dateOfBirth": "2016-03-14", "present": true},
                      {"unbornWeeks": 12}]}
        """

    func send(_ arguments: [String]) throws -> Send {
        try #require(try MashCtl.parseAsRoot(["send"] + arguments) as? Send)
    }

    @Test("a DAN is checked strictly and goes to the dan key as police; its summary holds no names")
    func dan() throws {
        let (type, summary) = try Send.check(Array(notification.utf8), source: "dan.json")
        #expect(type == .domesticAbuseNotification)
        #expect(summary == "dan-1, high, 2 children")
        #expect(!summary.contains("Ellie"))
        #expect(Send.routingKeys[type] == "dan" && Send.defaultSenders[type] == "police")

        let misspelt = notification.replacingOccurrences(of: "\"place\"", with: "\"plaice\": \"x\", \"place\"")
        let error = #expect(throws: (any Error).self) { try Send.check(Array(misspelt.utf8), source: "dan.json") }
        #expect("\(error!)".contains("plaice"), "\(error!)")
        let lowered = notification.replacingOccurrences(of: "\"uplift\": \"high\"", with: "\"uplift\": \"standard\"")
        let refused = #expect(throws: (any Error).self) { try Send.check(Array(lowered.utf8), source: "dan.json") }
        #expect("\(refused!)".contains("riskAssessment.uplift"), "\(refused!)")
    }

    @Test("a DAN whose incident is in the future is refused by the check, naming occurredAt, as the hub refuses it")
    func futureIncident() throws {
        let future = notification.replacingOccurrences(
            of: "2026-11-20T22:10:00Z", with: Instant.format(Date().addingTimeInterval(3600)))
        let error = #expect(throws: DocumentError.self) { try Send.check(Array(future.utf8), source: "dan.json") }
        #expect(error?.field == "occurredAt" && error?.problem.contains("in the future") == true, "\(error!)")
    }

    @Test("a decision is checked as the hub reads it and goes to the decision key as the decision maker")
    func decision() throws {
        let decision = """
            {"schema": "mash.decision/1", "enquiryID": "enq-1", "outcome": "child-in-need-assessment",
             "rationale": "Needs assessment under s17.", "decidedBy": "dm-jones", "decidedAt": "2026-11-20T15:00:00Z"}
            """
        let (type, summary) = try Send.check(Array(decision.utf8), source: "decision.json")
        #expect(type == .decision && summary == "enquiry enq-1, child-in-need-assessment")
        #expect(Send.routingKeys[type] == "decision" && Send.defaultSenders[type] == "decision-maker")

        let unknown = decision.replacingOccurrences(of: "child-in-need-assessment", with: "section-47")
        let error = #expect(throws: DocumentError.self) { try Send.check(Array(unknown.utf8), source: "decision.json") }
        #expect(error?.field == "outcome", "\(error!)")
        let unexplained = decision.replacingOccurrences(of: "Needs assessment under s17.", with: " ")
        let missing = #expect(throws: DocumentError.self) {
            try Send.check(Array(unexplained.utf8), source: "decision.json")
        }
        #expect(missing?.field == "rationale" && missing?.problem == "is required", "\(missing!)")
    }

    @Test("a roll file with --urn is wrapped, its content read to the line, and the qualifier rules are enforced")
    func roll() throws {
        let csv = """
            UPN,Surname,Forename,DOB,EntryDate
            A123456789012,Testperson,Ellie,2016-03-14,2020-09-03
            """
        let command = try send(["roll.csv", "--urn", "990001", "--qualifier", "full", "--party", "orchestra"])
        let document = try command.rollDocument(Array(csv.utf8), urn: "990001")
        let (type, summary) = try Send.check(document, source: "roll.csv")
        #expect(type == .schoolRoll && summary == "school 990001, full, 1 pupils")
        #expect(Send.routingKeys[type] == "roll" && command.sender.party == "orchestra")

        let bad = try command.rollDocument(Array((csv + "\nB1,Smith,Sam,31/02/2016,2020-09-03").utf8), urn: "990001")
        let error = #expect(throws: (any Error).self) { try Send.check(bad, source: "roll.csv") }
        #expect("\(error!)".contains("line 3") && "\(error!)".contains("DOB"), "\(error!)")

        let unqualified = try send(["roll.csv", "--urn", "990001"])
        #expect(throws: (any Error).self) { try unqualified.rollDocument(Array(csv.utf8), urn: "990001") }
        #expect(throws: (any Error).self) { try MashCtl.parseAsRoot(["send", "x.csv", "--qualifier", "full"]) }
    }

    @Test("a document the hub sends, or one without a schema, is refused before anything is sent")
    func refusals() throws {
        let (type, _) = try Send.check(
            Array(
                #"{"schema": "mash.encompass-acknowledgement/1", "noticeID": "n1", "acknowledgedAt": "2026-11-23T08:00:00Z"}"#
                    .utf8),
            source: "ack.json")
        #expect(Send.routingKeys[type] == "encompass-acknowledgement" && Send.defaultSenders[type] == nil)
        let noSchema = #expect(throws: (any Error).self) { try Send.check(Array("[1]".utf8), source: "x.json") }
        #expect("\(noSchema!)".contains("schema"))
        #expect(Send.routingKeys[.decisionPackage] == nil)
        #expect(SenderOptions.environmentVariable(for: "school-990001") == "MASH_SCHOOL_990001_URL")
        #expect(SenderOptions.environmentVariable(for: "spa") == "MASH_SPA_URL")
    }
}
