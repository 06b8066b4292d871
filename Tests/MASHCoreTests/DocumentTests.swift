import Foundation
import MASHCore
import Testing

@Suite("Documents: strict, versioned JSON")
struct DocumentTests {
    static let valid = """
        {"schema": "mash.enquiry/1", "id": "e-1", "reference": "FWI-1", "rag": "red",
         "receivedAt": "2026-11-23T10:00:00Z", "referrer": "spa-1", "reason": "concern",
         "subject": {"forename": "A", "surname": "B", "dateOfBirth": "2016-03-14"},
         "consent": {"status": "given", "givenBy": "mother", "recordedAt": "2026-11-23T09:00:00Z"},
         "lawfulBasis": {"article6": "public-task"}}
        """

    func enquiry(_ text: String) throws -> Enquiry { try Enquiry(json: Array(text.utf8), source: "enquiry.json") }

    func refusal(_ text: String) -> DocumentError? {
        do {
            _ = try enquiry(text)
            return nil
        } catch {
            return error as? DocumentError
        }
    }

    @Test("a valid enquiry reads, and writes back to the same document")
    func roundTrip() throws {
        let read = try enquiry(Self.valid)
        #expect(read.rag == .red && read.subject.dateOfBirth == LocalDate(year: 2016, month: 3, day: 14))
        #expect(read.consent == .given(by: "mother", at: Instant.parse("2026-11-23T09:00:00Z")!))
        #expect(try Enquiry(json: read.json, source: "again") == read)
    }

    @Test("the justification, an exemption and an override's reference read, write back and make the grounds")
    func grounds() throws {
        #expect(try enquiry(Self.valid).grounds == "consent given (recorded 2026-11-23T09:00:00Z)")
        let withGrounds = Self.valid.replacingOccurrences(
            of: #""lawfulBasis": {"article6": "public-task"}"#,
            with:
                #""lawfulBasis": {"article6": "public-task"}, "justification": "s47 threshold", "exemption": "DPA 2018 Sch 2 para 2""#
        )
        let read = try enquiry(withGrounds)
        #expect(read.justification == "s47 threshold" && read.exemption == "DPA 2018 Sch 2 para 2")
        #expect(try Enquiry(json: read.json, source: "again") == read)
        #expect(
            read.grounds
                == "consent given (recorded 2026-11-23T09:00:00Z); justification: s47 threshold; exemption: DPA 2018 Sch 2 para 2"
        )
        #expect(!read.grounds.contains("mother"), "who gave consent is personal data and stays out")
        let long = refusal(
            withGrounds.replacingOccurrences(
                of: #""s47 threshold""#, with: "\"" + String(repeating: "x", count: 301) + "\""))
        #expect(long?.field == "justification" && long?.problem.contains("1 to 300") == true)

        var overridden = read
        overridden.consent = .overridden(
            ConsentOverride(
                practiceManager: "pm-3", agencies: [AgencyAgreement(agency: "police", agreedBy: "DS 4411")],
                rationale: .riskOfSignificantHarm, details: "names a person", agreedAt: Date(timeIntervalSince1970: 0),
                reference: "SD-1"))
        #expect(try Enquiry(json: overridden.json, source: "again") == overridden)
        #expect(
            overridden.grounds.hasPrefix(
                "consent overridden for risk-of-significant-harm (reference SD-1), agreed 1970-01-01T00:00:00Z by the "
                    + "Practice Manager pm-3 and police (DS 4411); justification"))
        #expect(!overridden.grounds.contains("names a person"))
    }

    @Test("an enquiry about a pregnancy carries unbornWeeks (1 to 42), writes it back; out of range is refused")
    func unborn() throws {
        let pregnancy = Self.valid.replacingOccurrences(
            of: #""rag": "red","#, with: #""rag": "red", "unbornWeeks": 20,"#)
        let read = try enquiry(pregnancy)
        #expect(read.unbornWeeks == 20)
        #expect(try Enquiry(json: read.json, source: "again") == read)
        #expect(try enquiry(Self.valid).unbornWeeks == nil)
        let wrong = refusal(pregnancy.replacingOccurrences(of: "20,", with: "43,"))
        #expect(wrong?.field == "unbornWeeks" && wrong?.problem.contains("1 to 42") == true)
    }

    @Test(
        "each fault names its field",
        arguments: [
            (#""rag": "red""#, #""rag": "purple""#, "rag", "'purple' is not one of 'red', 'amber', 'green'"),
            (#""dateOfBirth": "2016-03-14""#, #""dateOfBirth": "2016-14-03""#, "subject.dateOfBirth", "not a date"),
            (#""receivedAt": "2026-11-23T10:00:00Z""#, #""receivedAt": "yesterday""#, "receivedAt", "not a time"),
            (#""reference": "FWI-1","#, #""reference": "FWI-1", "refrence": "x","#, "refrence", "not a known field"),
            (#""forename": "A", "#, "", "subject.forename", "is required"),
            (#""status": "given""#, #""status": "maybe""#, "consent.status", "'maybe' is not one of"),
            (#""article6": "public-task""#, #""article6": "vibes""#, "lawfulBasis.article6", "is not one of"),
            (#""schema": "mash.enquiry/1""#, #""schema": "mash.enquiry/2""#, "schema", "version 'mash.enquiry/2'"),
        ])
    func faults(original: String, replacement: String, field: String, problem: String) throws {
        #expect(Self.valid.contains(original))
        let error = try #require(refusal(Self.valid.replacingOccurrences(of: original, with: replacement)))
        #expect(error.field == field)
        #expect(error.problem.contains(problem), "\(error)")
        #expect(error.description.hasPrefix("enquiry.json: field '\(field)'"))
    }

    @Test(
        "ids are bounded and printable; dates are plausible",
        arguments: [
            (#""id": "e-1""#, #""id": "\#(String(repeating: "x", count: 10_000))""#, "id", "1 to 128 printable ASCII"),
            (#""id": "e-1""#, #""id": "e-\n1""#, "id", "printable ASCII characters, without spaces"),
            (#""id": "e-1""#, #""id": "e 1""#, "id", "without spaces"),
            (#""id": "e-1""#, #""id": """#, "id", "printable ASCII"),
            (#""dateOfBirth": "2016-03-14""#, #""dateOfBirth": "1899-12-31""#, "subject.dateOfBirth", "before 1900"),
            (#""dateOfBirth": "2016-03-14""#, #""dateOfBirth": "2999-01-01""#, "subject.dateOfBirth", "in the future"),
            (
                #""receivedAt": "2026-11-23T10:00:00Z""#, #""receivedAt": "2999-01-01T10:00:00Z""#, "receivedAt",
                "in the future"
            ),
            (#""rag": "red""#, #""rag": "green", "rag": "red""#, "", "the member 'rag' appears twice"),
            (
                #""dateOfBirth": "2016-03-14"}"#, #""dateOfBirth": "2016-03-14", "nhsNumber": "9434765918"}"#,
                "subject.nhsNumber", "the modulus 11 check digit"
            ),
            (
                #""dateOfBirth": "2016-03-14"}"#, #""dateOfBirth": "2016-03-14", "upn": "B123456789012"}"#,
                "subject.upn", "a check letter"
            ),
        ])
    func plausible(original: String, replacement: String, field: String, problem: String) throws {
        #expect(Self.valid.contains(original))
        let error = try #require(refusal(Self.valid.replacingOccurrences(of: original, with: replacement)))
        #expect(error.field == field)
        #expect(error.problem.contains(problem), "\(error)")
    }

    @Test("an NHS number and a UPN whose check characters hold are read (spaces in the NHS number allowed)")
    func identifiersWithCheckCharacters() throws {
        let read = try Enquiry(
            json: Array(
                Self.valid.replacingOccurrences(
                    of: #""dateOfBirth": "2016-03-14"}"#,
                    with: #""dateOfBirth": "2016-03-14", "nhsNumber": "943 476 5919", "upn": "A123456789012"}"#
                ).utf8), source: "enquiry.json")
        #expect(read.subject.nhsNumber == "943 476 5919")
        #expect(read.subject.upn == "A123456789012")
    }

    @Test("a receivedAt a little ahead of our clock (a sender's clock skew) is accepted; more is not")
    func clockSkew() throws {
        let now = Date()
        func read(_ receivedAt: Date) throws -> Enquiry {
            let text = Self.valid.replacingOccurrences(
                of: "2026-11-23T10:00:00Z", with: Instant.format(receivedAt))
            return try Enquiry(json: Array(text.utf8), source: "enquiry.json")
        }
        _ = try read(now.addingTimeInterval(DocumentReader.clockSkew - 10))
        #expect(throws: DocumentError.self) { try read(now.addingTimeInterval(DocumentReader.clockSkew + 60)) }
    }

    @Test("a missing subject, and a document that is not JSON, are refused clearly")
    func missingSubjectAndNotJSON() throws {
        let withoutSubject = Self.valid.replacingOccurrences(
            of: #""subject": {"forename": "A", "surname": "B", "dateOfBirth": "2016-03-14"},"#, with: "")
        #expect(refusal(withoutSubject)?.field == "subject")
        #expect(refusal("{")?.problem.hasPrefix("not valid JSON") == true)
        #expect(refusal("[1]")?.problem == "the document must be a JSON object")
    }

    @Test("a response must be consistent: declined needs a reason, health data an Article 9 condition")
    func responseRules() throws {
        func response(_ body: String) -> DocumentError? {
            let text = """
                {"schema": "mash.research-response/1", "requestID": "r", "enquiryID": "e", "agency": "health",
                 "respondedAt": "2026-11-23T10:00:00Z", \(body)}
                """
            do {
                _ = try ResearchResponse(json: Array(text.utf8), source: "response")
                return nil
            } catch { return error as? DocumentError }
        }
        #expect(
            response(#""outcome": "declined", "lawfulBasis": {"article6": "public-task"}"#)?.field == "declinedReason")
        #expect(
            response(#""outcome": "information-held", "lawfulBasis": {"article6": "public-task"}"#)?.field == "findings"
        )
        let health = #""findings": [{"summary": "s", "category": "special-category"}]"#
        let missing = response(
            #""outcome": "information-held", \#(health), "lawfulBasis": {"article6": "public-task"}"#)
        #expect(missing?.field == "lawfulBasis" && missing?.problem.contains("Article 9") == true)
        #expect(
            response(
                #""outcome": "information-held", \#(health), "lawfulBasis": {"article6": "public-task", "article9": "health-or-social-care"}"#
            ) == nil)
        #expect(
            response(
                #""outcome": "no-trace", "findings": [{"summary": "s", "category": "sparkly"}], "lawfulBasis": {"article6": "public-task"}"#
            )?
            .field == "findings[0].category")
    }
}

@Suite("Consent and lawful basis")
struct ConsentTests {
    let override = ConsentOverride(
        practiceManager: "pm-1", agencies: [AgencyAgreement(agency: "police", agreedBy: "DS 1")],
        rationale: .riskOfSignificantHarm, details: "Injury disclosed.", agreedAt: Date())

    @Test("consent given lets any agency be asked; no consent is refused")
    func givenAndNot() throws {
        try ConsentGate.check(.given(by: "mother", at: Date()), agencies: ["police", "health"])
        #expect(throws: ConsentGate.Refusal.self) { try ConsentGate.check(.notGiven("refused"), agencies: ["police"]) }
    }

    @Test("an override covers only the agencies that agreed, and needs the Practice Manager and details")
    func overrides() throws {
        try ConsentGate.check(.overridden(override), agencies: ["police"])
        do {
            try ConsentGate.check(.overridden(override), agencies: ["police", "health"])
            Issue.record("an override without health's agreement was accepted")
        } catch {
            #expect(error.reason.contains("no agreement from health"))
        }
        var noManager = override
        noManager.practiceManager = ""
        #expect(throws: ConsentGate.Refusal.self) {
            try ConsentGate.check(.overridden(noManager), agencies: ["police"])
        }
        var noDetails = override
        noDetails.details = ""
        #expect(throws: ConsentGate.Refusal.self) {
            try ConsentGate.check(.overridden(noDetails), agencies: ["police"])
        }
    }

    @Test("special category data needs Article 9, criminal offence data Article 10; citations print")
    func lawfulBasis() throws {
        let plain = LawfulBasis(article6: .publicTask)
        try plain.check(covers: [.personal])
        #expect(throws: ConsentGate.Refusal.self) { try plain.check(covers: [.specialCategory]) }
        #expect(throws: ConsentGate.Refusal.self) { try plain.check(covers: [.criminalOffence]) }
        let full = LawfulBasis(
            article6: .publicTask, article9: .substantialPublicInterest, article10: .safeguardingChildren)
        try full.check(covers: [.personal, .specialCategory, .criminalOffence])
        #expect(full.description == "6(1)(e); 9(2)(g); DPA 2018 Sch 1 para 18")
    }

    @Test("data minimisation keeps only the configured fields")
    func minimisation() {
        let person = Person(
            forename: "A", surname: "B", dateOfBirth: LocalDate(year: 2016, month: 1, day: 2), nhsNumber: "9434765919",
            upn: "A123", pncID: "12/3456A", postcode: "ME4 4AA")
        let kept = person.keeping([.forename, .surname, .dateOfBirth, .upn])
        #expect(
            kept
                == Person(
                    forename: "A", surname: "B", dateOfBirth: LocalDate(year: 2016, month: 1, day: 2), upn: "A123"))
    }
}
