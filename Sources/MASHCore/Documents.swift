import Foundation

/// The document types on the wire. The value is the `schema` member of the JSON, the sealed message's `cty`
/// and the AMQP `type`; the number after the slash is the version, raised on any incompatible change.
public enum DocumentType: String, Sendable, CaseIterable {
    case enquiry = "mash.enquiry/1"
    case consentWithdrawal = "mash.consent-withdrawal/1"
    case enquiryRefusal = "mash.enquiry-refusal/1"
    case requestNotSent = "mash.request-not-sent/1"
    case researchRequest = "mash.research-request/1"
    case researchResponse = "mash.research-response/1"
    case requestCancellation = "mash.request-cancellation/1"
    case requestChase = "mash.request-chase/1"
    case decisionPackage = "mash.decision-package/1"
    case decision = "mash.decision/1"
    case outcome = "mash.outcome/1"
    case slaAlert = "mash.sla-alert/1"
    case adapterHeartbeat = "mash.adapter-heartbeat/1"
    case domesticAbuseNotification = "mash.domestic-abuse-notification/1"
    case danReferral = "mash.dan-referral/1"
    case significantContact = "mash.significant-contact/1"
    case openCase = "mash.open-case/1"
    case encompassNotice = "mash.encompass-notice/1"
    case encompassAcknowledgement = "mash.encompass-acknowledgement/1"
    case schoolRoll = "mash.school-roll/1"
    case rollReport = "mash.roll-report/1"
    case rollRejection = "mash.roll-rejection/1"
    case missingEducationAlert = "mash.cme-alert/1"
    case danTriage = "mash.dan-triage/1"
    case triageOutcome = "mash.triage-outcome/1"
    case earlyHelpNotice = "mash.early-help-notice/1"
    case deadLetterReplay = "mash.dead-letter-replay/1"
    case subjectAccess = "mash.subject-access/1"
    case subjectRestriction = "mash.subject-restriction/1"
    case subjectCorrection = "mash.subject-correction/1"
    case breachReport = "mash.breach-report/1"
    case breachNotice = "mash.breach-notice/1"
    case correction = "mash.correction/1"
    case correctionReceipt = "mash.correction-receipt/1"
    case openCaseRegister = "mash.open-case-register/1"
    case contentView = "mash.content-view/1"
    case refusalReport = "mash.refusal-report/1"
    case missingReport = "mash.missing-report/1"
    case foundReport = "mash.found-report/1"
    case returnInterview = "mash.return-interview/1"
    case missingNotice = "mash.missing-notice/1"
    case returnInterviewRequest = "mash.return-interview-request/1"
    case contact = "mash.contact/1"
    case screening = "mash.screening/1"
    case contactOutcome = "mash.contact-outcome/1"
    case consultation = "mash.consultation/1"
    case consultationCorrection = "mash.consultation-correction/1"
    case deliveryReceipt = "mash.delivery-receipt/1"
    case challenge = "mash.challenge/1"
    case challengeStage = "mash.challenge-stage/1"
    case meetingRecord = "mash.meeting-record/1"
    case meetingAgenda = "mash.meeting-agenda/1"
    case meetingListRequest = "mash.meeting-list-request/1"
}

extension DocumentReader {
    /// Reads and checks the `schema` member.
    mutating func schema(_ expected: DocumentType) throws {
        let schema = try string("schema")
        guard schema == expected.rawValue else {
            if schema.hasPrefix(expected.rawValue.split(separator: "/")[0] + "/") {
                throw error("schema", "version '\(schema)' is not supported; this gateway reads '\(expected.rawValue)'")
            }
            throw error("schema", "'\(schema)' is not a \(expected.rawValue) document")
        }
    }

    mutating func lawfulBasis(_ key: String) throws -> LawfulBasis {
        var reader = try object(key)
        let basis = LawfulBasis(
            article6: try reader.enum("article6", Article6Basis.self),
            article9: try reader.optionalEnum("article9", Article9Condition.self),
            article10: try reader.optionalEnum("article10", Article10Condition.self))
        try reader.finish()
        return basis
    }
}

extension LawfulBasis {
    var json: [String: Any] {
        var object: [String: Any] = ["article6": article6.rawValue]
        object["article9"] = article9?.rawValue
        object["article10"] = article10?.rawValue
        return object
    }
}

/// A person as the documents describe them: the child an enquiry is about, or a member of the household.
public struct Person: Sendable, Equatable {
    /// The fields an agency may be sent, named as in the JSON; routing configuration lists a subset per agency.
    public enum Field: String, Sendable, CaseIterable {
        case role, forename, surname, otherNames, dateOfBirth, gender, nhsNumber, upn, pncID, address, postcode
    }

    public var role: String?
    public var forename: String?
    public var surname: String?
    public var otherNames: [String] = []
    public var dateOfBirth: LocalDate?
    public var gender: String?
    public var nhsNumber: String?
    public var upn: String?
    public var pncID: String?
    public var address: String?
    public var postcode: String?

    public init(
        role: String? = nil, forename: String? = nil, surname: String? = nil, otherNames: [String] = [],
        dateOfBirth: LocalDate? = nil, gender: String? = nil, nhsNumber: String? = nil, upn: String? = nil,
        pncID: String? = nil, address: String? = nil, postcode: String? = nil
    ) {
        self.role = role
        self.forename = forename
        self.surname = surname
        self.otherNames = otherNames
        self.dateOfBirth = dateOfBirth
        self.gender = gender
        self.nhsNumber = nhsNumber
        self.upn = upn
        self.pncID = pncID
        self.address = address
        self.postcode = postcode
    }

    /// A person as one JSON object (`{"surname": "Carter-Smith"}`), read as strictly as in a document.
    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try self.init(reading: &reader)
        try reader.finish()
    }

    public init(reading reader: inout DocumentReader) throws {
        role = try reader.optionalString("role")
        forename = try reader.optionalString("forename")
        surname = try reader.optionalString("surname")
        otherNames = try reader.strings("otherNames")
        dateOfBirth = try reader.optionalBirthDate("dateOfBirth")
        gender = try reader.optionalString("gender")
        nhsNumber = try reader.optionalString("nhsNumber")
        if let nhsNumber, Identifier.nhsNumber(nhsNumber) == nil {
            throw reader.error(
                "nhsNumber", "is not an NHS number: ten digits, the last the modulus 11 check digit of the first nine")
        }
        upn = try reader.optionalString("upn")
        if let upn, Identifier.upn(upn) == nil {
            throw reader.error("upn", "is not a UPN: a check letter then twelve characters, as DfE computes it")
        }
        pncID = try reader.optionalString("pncID")
        address = try reader.optionalString("address")
        postcode = try reader.optionalString("postcode")
    }

    /// Only `fields`: what data minimisation lets one agency see.
    public func keeping(_ fields: Set<Field>) -> Person {
        Person(
            role: fields.contains(.role) ? role : nil, forename: fields.contains(.forename) ? forename : nil,
            surname: fields.contains(.surname) ? surname : nil,
            otherNames: fields.contains(.otherNames) ? otherNames : [],
            dateOfBirth: fields.contains(.dateOfBirth) ? dateOfBirth : nil,
            gender: fields.contains(.gender) ? gender : nil, nhsNumber: fields.contains(.nhsNumber) ? nhsNumber : nil,
            upn: fields.contains(.upn) ? upn : nil, pncID: fields.contains(.pncID) ? pncID : nil,
            address: fields.contains(.address) ? address : nil, postcode: fields.contains(.postcode) ? postcode : nil)
    }

    public var json: [String: Any] {
        var object: [String: Any] = [:]
        object["role"] = role
        object["forename"] = forename
        object["surname"] = surname
        if !otherNames.isEmpty { object["otherNames"] = otherNames }
        object["dateOfBirth"] = dateOfBirth?.description
        object["gender"] = gender
        object["nhsNumber"] = nhsNumber
        object["upn"] = upn
        object["pncID"] = pncID
        object["address"] = address
        object["postcode"] = postcode
        return object
    }

    /// This person with every field `corrected` gives replaced (a rectification).
    public func correcting(_ corrected: Person) -> Person {
        var person = self
        person.forename = corrected.forename ?? forename
        person.surname = corrected.surname ?? surname
        if !corrected.otherNames.isEmpty { person.otherNames = corrected.otherNames }
        person.dateOfBirth = corrected.dateOfBirth ?? dateOfBirth
        person.gender = corrected.gender ?? gender
        person.nhsNumber = corrected.nhsNumber ?? nhsNumber
        person.upn = corrected.upn ?? upn
        person.pncID = corrected.pncID ?? pncID
        person.address = corrected.address ?? address
        person.postcode = corrected.postcode ?? postcode
        return person
    }

    /// Whether this is the person `keys` (`referenceKeys`) name: by name and date of birth, or NHS number.
    public func isNamed(by keys: Set<String>) -> Bool { !keys.isDisjoint(with: referenceKeys) }

    /// What a keyed reference to this person is made from (the name and date of birth, normalised as a roll
    /// pupil's; the NHS number's digits): each party keys them with its own data key, so the strings themselves
    /// are never stored or sent.
    public var referenceKeys: [String] {
        Self.referenceKeys(forename: forename, surname: surname, dateOfBirth: dateOfBirth, nhsNumber: nhsNumber)
    }

    public static func referenceKeys(forename: String?, surname: String?, dateOfBirth: LocalDate?, nhsNumber: String?)
        -> [String]
    {
        var keys: [String] = []
        if let forename, let surname, let dateOfBirth, !forename.isEmpty, !surname.isEmpty {
            keys.append("person:" + RollPupil.identityKey(forename: forename, surname: surname, born: dateOfBirth))
        }
        if let nhs = nhsNumber?.filter(\.isNumber), !nhs.isEmpty { keys.append("nhs:" + nhs) }
        return keys
    }

    /// A stable, normalised identity string for pseudonymous references (never stored or sent in clear).
    public var identityKey: String {
        let name = [forename, surname].compactMap { $0?.lowercased() }.joined(separator: " ")
        return [nhsNumber ?? "", name, dateOfBirth?.description ?? ""].joined(separator: "|")
    }
}

/// A safeguarding enquiry about one child, as the SPA sends it to the coordinator.
public struct Enquiry: Sendable, Equatable {
    public var id: String
    /// The case system's reference (Framework-i), so the decision maker can find the contact.
    public var reference: String
    public var rag: RAG
    public var receivedAt: Date
    /// Who at the SPA screened the contact (a staff id).
    public var referrer: String
    /// The concerns, in the SPA's words.
    public var reason: String
    public var subject: Person
    public var household: [Person]
    /// The agencies to ask; empty means the routing defaults for the RAG rating.
    public var agencies: [String]
    public var consent: Consent
    public var lawfulBasis: LawfulBasis
    /// Why the lawful basis applies to this enquiry (e.g. "s47 threshold: risk of significant harm"); recorded
    /// in the record of sharing. No personal data.
    public var justification: String?
    /// An exemption relied on (e.g. "DPA 2018 Sch 2 para 2"); recorded in the record of sharing.
    public var exemption: String?
    /// The enquiry is about a pregnancy: the subject is the expectant parent, and the unborn child is this many
    /// weeks' gestation (1–42). Puts the enquiry on the Midwifery Safeguarding Meeting's list.
    public var unbornWeeks: Int?

    public init(
        id: String, reference: String, rag: RAG, receivedAt: Date, referrer: String, reason: String, subject: Person,
        household: [Person] = [], agencies: [String] = [], consent: Consent, lawfulBasis: LawfulBasis,
        justification: String? = nil, exemption: String? = nil, unbornWeeks: Int? = nil
    ) {
        self.id = id
        self.reference = reference
        self.rag = rag
        self.receivedAt = receivedAt
        self.referrer = referrer
        self.reason = reason
        self.subject = subject
        self.household = household
        self.agencies = agencies
        self.consent = consent
        self.lawfulBasis = lawfulBasis
        self.justification = justification
        self.exemption = exemption
        self.unbornWeeks = unbornWeeks
    }

    /// What the enquiry's disclosures rest on besides their lawful basis, as the record of sharing keeps it:
    /// the consent position (for an override: the rationale, its reference, when and by whom it was agreed),
    /// the justification and any exemption. Never the consent giver's name or the override's free-text details.
    public var grounds: String {
        var parts: [String]
        switch consent {
        case .given(_, let at):
            parts = ["consent given (recorded \(Instant.format(at)))"]
        case .notGiven:
            parts = ["consent not given"]
        case .overridden(let override):
            let agencies = override.agencies.map { "\($0.agency) (\($0.agreedBy))" }.joined(separator: ", ")
            parts = [
                "consent overridden for \(override.rationale.rawValue)"
                    + (override.reference.map { " (reference \($0))" } ?? "")
                    + ", agreed \(Instant.format(override.agreedAt)) by the Practice Manager \(override.practiceManager)"
                    + (agencies.isEmpty ? "" : " and \(agencies)")
            ]
        }
        if let justification { parts.append("justification: \(justification)") }
        if let exemption { parts.append("exemption: \(exemption)") }
        return parts.joined(separator: "; ")
    }

    /// Reads an enquiry; a `receivedAt` later than `now` (beyond clock skew) is refused.
    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.enquiry)
        id = try reader.identifier("id")
        reference = try reader.string("reference")
        rag = try reader.enum("rag", RAG.self)
        receivedAt = try reader.pastInstant("receivedAt")
        referrer = try reader.string("referrer")
        reason = try reader.string("reason")
        var subjectReader = try reader.object("subject")
        subject = try Person(reading: &subjectReader)
        try subjectReader.finish()
        guard subject.forename != nil, subject.surname != nil else {
            throw subjectReader.error(subject.forename == nil ? "forename" : "surname", "is required for the subject")
        }
        guard subject.dateOfBirth != nil else {
            throw subjectReader.error("dateOfBirth", "is required for the subject")
        }
        household = try reader.objects("household") { try Person(reading: &$0) }
        agencies = try reader.strings("agencies")
        consent = try Self.consent(&reader)
        lawfulBasis = try reader.lawfulBasis("lawfulBasis")
        justification = try Self.ground(&reader, "justification")
        exemption = try Self.ground(&reader, "exemption")
        unbornWeeks = try reader.optionalInt("unbornWeeks")
        if let weeks = unbornWeeks, !(1...42).contains(weeks) {
            throw reader.error("unbornWeeks", "must be 1 to 42 (weeks of gestation) when given")
        }
        try reader.finish()
    }

    /// An optional short text for the record of sharing: not empty, at most 300 characters.
    static func ground(_ reader: inout DocumentReader, _ key: String) throws -> String? {
        guard let text = try reader.optionalString(key) else { return nil }
        guard !text.trimmingSpaces.isEmpty, text.count <= 300 else {
            throw reader.error(key, "must be 1 to 300 characters when given")
        }
        return text
    }

    static func consent(_ parent: inout DocumentReader) throws -> Consent {
        var reader = try parent.object("consent")
        let status = try reader.string("status")
        let consent: Consent
        switch status {
        case "given":
            consent = .given(by: try reader.string("givenBy"), at: try reader.instant("recordedAt"))
        case "overridden":
            var override = try reader.object("override")
            consent = .overridden(
                ConsentOverride(
                    practiceManager: try override.string("practiceManager"),
                    agencies: try override.objects("agencies") {
                        AgencyAgreement(agency: try $0.string("agency"), agreedBy: try $0.string("agreedBy"))
                    },
                    rationale: try override.enum("rationale", OverrideRationale.self),
                    details: try override.string("details"), agreedAt: try override.instant("agreedAt"),
                    reference: try ground(&override, "reference")))
            try override.finish()
        case "not-given":
            consent = .notGiven(try reader.optionalString("note") ?? "consent not given")
        default:
            throw reader.error("status", "'\(status)' is not one of 'given', 'overridden', 'not-given'")
        }
        try reader.finish()
        return consent
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.enquiry.rawValue, "id": id, "reference": reference, "rag": rag.rawValue,
            "receivedAt": Instant.format(receivedAt), "referrer": referrer, "reason": reason, "subject": subject.json,
            "consent": consent.json, "lawfulBasis": lawfulBasis.json,
        ]
        if !household.isEmpty { object["household"] = household.map(\.json) }
        if !agencies.isEmpty { object["agencies"] = agencies }
        object["justification"] = justification
        object["exemption"] = exemption
        object["unbornWeeks"] = unbornWeeks
        return DocumentWriter.encode(object)
    }
}

extension Consent {
    var json: [String: Any] {
        switch self {
        case .given(let by, let at):
            return ["status": "given", "givenBy": by, "recordedAt": Instant.format(at)]
        case .notGiven(let note):
            return ["status": "not-given", "note": note]
        case .overridden(let override):
            var object: [String: Any] = [
                "practiceManager": override.practiceManager,
                "agencies": override.agencies.map { ["agency": $0.agency, "agreedBy": $0.agreedBy] },
                "rationale": override.rationale.rawValue, "details": override.details,
                "agreedAt": Instant.format(override.agreedAt),
            ]
            object["reference"] = override.reference
            return ["status": "overridden", "override": object]
        }
    }
}

/// The SPA withdrawing consent for an enquiry: outstanding requests are cancelled.
public struct ConsentWithdrawal: Sendable, Equatable {
    public var enquiryID: String
    public var withdrawnAt: Date
    public var recordedBy: String

    public init(enquiryID: String, withdrawnAt: Date, recordedBy: String) {
        self.enquiryID = enquiryID
        self.withdrawnAt = withdrawnAt
        self.recordedBy = recordedBy
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.consentWithdrawal)
        enquiryID = try reader.identifier("enquiryID")
        withdrawnAt = try reader.instant("withdrawnAt")
        recordedBy = try reader.string("recordedBy")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.consentWithdrawal.rawValue, "enquiryID": enquiryID,
            "withdrawnAt": Instant.format(withdrawnAt), "recordedBy": recordedBy,
        ])
    }
}

/// What the coordinator asks one agency: only the fields that agency is configured to receive.
public struct ResearchRequest: Sendable, Equatable {
    public var requestID: String
    public var enquiryID: String
    public var agency: String
    public var rag: RAG
    public var dueBy: Date
    public var purpose: String
    /// `given` or `overridden`; an adapter refuses anything else.
    public var consent: String
    public var lawfulBasis: LawfulBasis
    public var subject: Person
    public var household: [Person]
    public var reason: String?

    public init(
        requestID: String, enquiryID: String, agency: String, rag: RAG, dueBy: Date, purpose: String, consent: String,
        lawfulBasis: LawfulBasis, subject: Person, household: [Person], reason: String?
    ) {
        self.requestID = requestID
        self.enquiryID = enquiryID
        self.agency = agency
        self.rag = rag
        self.dueBy = dueBy
        self.purpose = purpose
        self.consent = consent
        self.lawfulBasis = lawfulBasis
        self.subject = subject
        self.household = household
        self.reason = reason
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.researchRequest)
        requestID = try reader.identifier("requestID")
        enquiryID = try reader.identifier("enquiryID")
        agency = try reader.identifier("agency")
        rag = try reader.enum("rag", RAG.self)
        dueBy = try reader.instant("dueBy")
        purpose = try reader.string("purpose")
        consent = try reader.string("consent")
        lawfulBasis = try reader.lawfulBasis("lawfulBasis")
        var subjectReader = try reader.object("subject")
        subject = try Person(reading: &subjectReader)
        try subjectReader.finish()
        household = try reader.objects("household") { try Person(reading: &$0) }
        reason = try reader.optionalString("reason")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.researchRequest.rawValue, "requestID": requestID, "enquiryID": enquiryID,
            "agency": agency, "rag": rag.rawValue, "dueBy": Instant.format(dueBy), "purpose": purpose,
            "consent": consent, "lawfulBasis": lawfulBasis.json, "subject": subject.json,
        ]
        if !household.isEmpty { object["household"] = household.map(\.json) }
        object["reason"] = reason
        return DocumentWriter.encode(object)
    }
}

/// One thing an agency holds about the subject (or a member of the household).
public struct Finding: Sendable, Equatable {
    public var summary: String
    public var category: DataCategory
    public var recordedOn: LocalDate?
    /// How sure the agency's search is that the record is this person, when a search made the link.
    public var match: MatchAssessment?

    public init(summary: String, category: DataCategory, recordedOn: LocalDate? = nil, match: MatchAssessment? = nil) {
        self.summary = summary
        self.category = category
        self.recordedOn = recordedOn
        self.match = match
    }

    public init(reading reader: inout DocumentReader) throws {
        summary = try reader.string("summary")
        category = try reader.enum("category", DataCategory.self)
        recordedOn = try reader.optionalDate("recordedOn")
        if var matchReader = try reader.optionalObject("match") {
            let band = try matchReader.enum("band", MatchBand.self)
            guard let score = try matchReader.optionalDouble("score"), (0...1).contains(score) else {
                throw matchReader.error("score", "is required, a number from 0 to 1")
            }
            match = MatchAssessment(
                band: band, score: score, manyMatch: try matchReader.optionalBool("manyMatch") ?? false)
            try matchReader.finish()
        }
    }

    var json: [String: Any] {
        var object: [String: Any] = ["summary": summary, "category": category.rawValue]
        object["recordedOn"] = recordedOn?.description
        if let match {
            var assessment: [String: Any] = ["band": match.band.rawValue, "score": match.score]
            if match.manyMatch { assessment["manyMatch"] = true }
            object["match"] = assessment
        }
        return object
    }
}

public enum ResearchOutcome: String, Sendable, CaseIterable {
    case informationHeld = "information-held"
    case noTrace = "no-trace"
    /// Refused: no consent or valid override, or no lawful basis for this agency.
    case declined
    /// The agency could not complete the research (its systems failed or timed out).
    case unable
}

/// An agency's answer to one research request.
public struct ResearchResponse: Sendable, Equatable {
    public var requestID: String
    public var enquiryID: String
    public var agency: String
    public var outcome: ResearchOutcome
    public var declinedReason: String?
    public var findings: [Finding]
    public var lawfulBasis: LawfulBasis
    public var respondedAt: Date

    public init(
        requestID: String, enquiryID: String, agency: String, outcome: ResearchOutcome, declinedReason: String? = nil,
        findings: [Finding] = [], lawfulBasis: LawfulBasis, respondedAt: Date
    ) {
        self.requestID = requestID
        self.enquiryID = enquiryID
        self.agency = agency
        self.outcome = outcome
        self.declinedReason = declinedReason
        self.findings = findings
        self.lawfulBasis = lawfulBasis
        self.respondedAt = respondedAt
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.researchResponse)
        requestID = try reader.identifier("requestID")
        enquiryID = try reader.identifier("enquiryID")
        agency = try reader.identifier("agency")
        outcome = try reader.enum("outcome", ResearchOutcome.self)
        declinedReason = try reader.optionalString("declinedReason")
        findings = try reader.objects("findings") { try Finding(reading: &$0) }
        lawfulBasis = try reader.lawfulBasis("lawfulBasis")
        respondedAt = try reader.instant("respondedAt")
        try reader.finish()
        switch outcome {
        case .declined where declinedReason == nil, .unable where declinedReason == nil:
            throw reader.error("declinedReason", "is required when the outcome is '\(outcome.rawValue)'")
        case .informationHeld where findings.isEmpty:
            throw reader.error("findings", "must hold at least one finding when the outcome is 'information-held'")
        case .noTrace where !findings.isEmpty, .declined where !findings.isEmpty, .unable where !findings.isEmpty:
            throw reader.error("findings", "must be empty when the outcome is '\(outcome.rawValue)'")
        default: break
        }
        do {
            try lawfulBasis.check(covers: dataCategories)
        } catch {
            throw reader.error("lawfulBasis", error.reason)
        }
    }

    public var dataCategories: Set<DataCategory> { Set(findings.map(\.category)) }

    public var json: [UInt8] { DocumentWriter.encode(jsonObject) }

    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "schema": DocumentType.researchResponse.rawValue, "requestID": requestID, "enquiryID": enquiryID,
            "agency": agency, "outcome": outcome.rawValue, "lawfulBasis": lawfulBasis.json,
            "respondedAt": Instant.format(respondedAt),
        ]
        object["declinedReason"] = declinedReason
        if !findings.isEmpty { object["findings"] = findings.map(\.json) }
        return object
    }
}

/// Everything the decision maker needs, in one sealed document: the enquiry and every agency's answer.
public struct DecisionPackage: Sendable, Equatable {
    public var enquiry: Enquiry
    public var partnersDue: Date
    public var decisionDue: Date
    public var responses: [ResearchResponse]
    /// Agencies asked that did not answer (optional agencies, when the mandatory ones completed the package).
    public var notAnswered: [String]
    public var completedAt: Date

    public init(
        enquiry: Enquiry, partnersDue: Date, decisionDue: Date, responses: [ResearchResponse], notAnswered: [String],
        completedAt: Date
    ) {
        self.enquiry = enquiry
        self.partnersDue = partnersDue
        self.decisionDue = decisionDue
        self.responses = responses
        self.notAnswered = notAnswered
        self.completedAt = completedAt
    }

    public var json: [UInt8] {
        let enquiryObject = (try? JSONSerialization.jsonObject(with: Data(enquiry.json))) ?? [:]
        return DocumentWriter.encode([
            "schema": DocumentType.decisionPackage.rawValue, "enquiry": enquiryObject,
            "partnersDue": Instant.format(partnersDue), "decisionDue": Instant.format(decisionDue),
            "responses": responses.map(\.jsonObject), "notAnswered": notAnswered,
            "completedAt": Instant.format(completedAt),
        ])
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.decisionPackage)
        var enquiryReader = try reader.object("enquiry")
        enquiry = try Enquiry(json: DocumentWriter.encode(enquiryReader.takeAll()), source: source + " (enquiry)")
        partnersDue = try reader.instant("partnersDue")
        decisionDue = try reader.instant("decisionDue")
        responses = try reader.objects("responses") {
            try ResearchResponse(json: DocumentWriter.encode($0.takeAll()), source: source + " (\($0.path))")
        }
        notAnswered = try reader.strings("notAnswered")
        completedAt = try reader.instant("completedAt")
        try reader.finish()
    }
}

/// An adapter saying it is alive, every few seconds: what it has in hand, never what it is about.
public struct AdapterHeartbeat: Sendable, Equatable {
    public var agency: String
    public var sentAt: Date
    /// Requests stored and not yet answered.
    public var pending: Int
    /// When the adapter last answered a request, if it has.
    public var lastResponseAt: Date?
    public var version: String
    /// Seconds until the next heartbeat: the hub judges silence against it (silent after three).
    public var interval: TimeInterval?

    public init(
        agency: String, sentAt: Date, pending: Int, lastResponseAt: Date?, version: String,
        interval: TimeInterval? = nil
    ) {
        self.agency = agency
        self.sentAt = sentAt
        self.pending = pending
        self.lastResponseAt = lastResponseAt
        self.version = version
        self.interval = interval
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.adapterHeartbeat)
        agency = try reader.identifier("agency")
        sentAt = try reader.instant("sentAt")
        pending = try reader.optionalInt("pending") ?? 0
        lastResponseAt = try reader.optionalInstant("lastResponseAt")
        version = try reader.string("version")
        interval = try reader.optionalDouble("interval")
        if let interval, !(1...86_400).contains(interval) {
            throw reader.error("interval", "must be between 1 and 86400 seconds")
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.adapterHeartbeat.rawValue, "agency": agency, "sentAt": Instant.format(sentAt),
            "pending": pending, "version": version,
        ]
        object["lastResponseAt"] = lastResponseAt.map(Instant.format)
        object["interval"] = interval
        return DocumentWriter.encode(object)
    }
}
