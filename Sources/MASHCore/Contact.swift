import Foundation

/// The front door (DESIGN.md flow 7): a professional's contact through the SPA portal, the SPA's screening of
/// it, and the outcome told back to the referrer.
public struct Contact: Sendable, Equatable {
    /// The professional who made the contact, as the portal knows them (their own account).
    public struct Referrer: Sendable, Equatable {
        /// The portal account's staff id: the only one who sees the contact's status.
        public var staffID: String
        public var name: String
        public var organisation: String
        public var role: String
        public var phone: String?
        public var email: String?

        public init(
            staffID: String, name: String, organisation: String, role: String, phone: String? = nil,
            email: String? = nil
        ) {
            self.staffID = staffID
            self.name = name
            self.organisation = organisation
            self.role = role
            self.phone = phone
            self.email = email
        }
    }

    /// Whether the parents know of the contact and agreed to it; why not, when not.
    public enum ParentalConsent: Sendable, Equatable {
        case given
        case refused(String)
        /// Not asked: telling them could put the child at risk, or they could not be reached.
        case notSought(String)
    }

    /// The portal's id for the contact (a UUID): what the screening and the outcome name.
    public var id: String
    /// The reference the referrer keeps and quotes (`MC-…`).
    public var reference: String
    public var sentAt: Date
    public var referrer: Referrer
    /// The child: forename and surname required, and whatever else the referrer knows.
    public var child: Person
    public var household: [Person]
    /// The concern, in the referrer's words.
    public var concern: String
    /// What the referrer has already done about it.
    public var actionsTaken: String
    public var parentsAware: Bool
    public var consent: ParentalConsent
    /// The no-name consultation this contact follows, by its reference (`NNC-…`), if any.
    public var consultation: String?

    public init(
        id: String, reference: String, sentAt: Date, referrer: Referrer, child: Person, household: [Person] = [],
        concern: String, actionsTaken: String, parentsAware: Bool, consent: ParentalConsent
    ) {
        self.id = id
        self.reference = reference
        self.sentAt = sentAt
        self.referrer = referrer
        self.child = child
        self.household = household
        self.concern = concern
        self.actionsTaken = actionsTaken
        self.parentsAware = parentsAware
        self.consent = consent
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.contact)
        id = try reader.identifier("id")
        reference = try reader.identifier("reference")
        sentAt = try reader.pastInstant("sentAt")
        var who = try reader.object("referrer")
        referrer = Referrer(
            staffID: try who.identifier("staffID"), name: try who.string("name"),
            organisation: try who.string("organisation"), role: try who.string("role"),
            phone: try who.optionalString("phone"), email: try who.optionalString("email"))
        try who.finish()
        var person = try reader.object("child")
        child = try Person(reading: &person)
        for (field, value) in [("forename", child.forename), ("surname", child.surname)] where value == nil {
            throw person.error(field, "is required")
        }
        try person.finish()
        household = try reader.objects("household") { member in
            let person = try Person(reading: &member)
            guard person.role?.isEmpty == false else {
                throw member.error("role", "is required for a member of the household (mother, sibling, ...)")
            }
            return person
        }
        concern = try reader.text("concern")
        actionsTaken = try reader.text("actionsTaken")
        consultation = try reader.optionalIdentifier("consultation")
        guard let aware = try reader.optionalBool("parentsAware") else {
            throw reader.error("parentsAware", "is required (true or false)")
        }
        parentsAware = aware
        var agreed = try reader.object("consent")
        let status = try agreed.string("status")
        let reason = try agreed.optionalString("reason")
        switch status {
        case "given":
            guard reason == nil else { throw agreed.error("reason", "is given only when consent was not") }
            consent = .given
        case "refused", "not-sought":
            guard let reason, !reason.isEmpty else {
                throw agreed.error(
                    "reason", "is required: why consent was \(status == "refused" ? "refused" : "not sought")")
            }
            consent = status == "refused" ? .refused(reason) : .notSought(reason)
        default:
            throw agreed.error("status", "'\(status)' is not one of 'given', 'refused', 'not-sought'")
        }
        try agreed.finish()
        if consent == .given, !parentsAware {
            throw reader.error("parentsAware", "must be true when the parents gave consent")
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        var who: [String: Any] = [
            "staffID": referrer.staffID, "name": referrer.name, "organisation": referrer.organisation,
            "role": referrer.role,
        ]
        who["phone"] = referrer.phone
        who["email"] = referrer.email
        var agreed: [String: Any]
        switch consent {
        case .given: agreed = ["status": "given"]
        case .refused(let reason): agreed = ["status": "refused", "reason": reason]
        case .notSought(let reason): agreed = ["status": "not-sought", "reason": reason]
        }
        var object: [String: Any] = [
            "schema": DocumentType.contact.rawValue, "id": id, "reference": reference,
            "sentAt": Instant.format(sentAt), "referrer": who, "child": child.json, "concern": concern,
            "actionsTaken": actionsTaken, "parentsAware": parentsAware, "consent": agreed,
        ]
        if !household.isEmpty { object["household"] = household.map(\.json) }
        object["consultation"] = consultation
        return DocumentWriter.encode(object)
    }
}

/// What the SPA decided about a contact.
public enum ScreeningDecision: String, Sendable, CaseIterable {
    /// No further action, with the advice the referrer is given.
    case noFurtherAction = "no-further-action"
    case earlyHelp = "early-help"
    /// Straight to a social work assessment.
    case assessment
    /// A MASH enquiry, with its RAG rating, its agencies and its consent or override.
    case mashEnquiry = "mash-enquiry"
}

/// `mash.screening/1`: the SPA's screening of a contact, signed by the SPA and naming the member of staff.
public struct Screening: Sendable, Equatable {
    /// A MASH enquiry's rating, consent (as in `mash.enquiry/1`) and agencies (empty: the RAG's defaults).
    public struct EnquiryRequest: Sendable, Equatable {
        public var rag: RAG
        public var consent: Consent
        public var agencies: [String]
        /// The child's date of birth as the SPA established it, when the contact had none (an enquiry needs it).
        public var dateOfBirth: LocalDate?

        public init(rag: RAG, consent: Consent, agencies: [String] = [], dateOfBirth: LocalDate? = nil) {
            self.rag = rag
            self.consent = consent
            self.agencies = agencies
            self.dateOfBirth = dateOfBirth
        }
    }

    public var contactID: String
    public var decision: ScreeningDecision
    public var enquiry: EnquiryRequest?
    /// Why, for the record (not sent to the referrer).
    public var rationale: String
    /// What the referrer is told, in words for a professional: the advice with no further action, or what
    /// happens next. Never a partner's findings.
    public var feedback: String
    public var screenedBy: String
    public var screenedAt: Date

    public init(
        contactID: String, decision: ScreeningDecision, enquiry: EnquiryRequest? = nil, rationale: String,
        feedback: String, screenedBy: String, screenedAt: Date
    ) {
        self.contactID = contactID
        self.decision = decision
        self.enquiry = enquiry
        self.rationale = rationale
        self.feedback = feedback
        self.screenedBy = screenedBy
        self.screenedAt = screenedAt
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.screening)
        contactID = try reader.identifier("contactID")
        decision = try reader.enum("decision", ScreeningDecision.self)
        if var request = try reader.optionalObject("enquiry") {
            guard decision == .mashEnquiry else {
                throw reader.error("enquiry", "is given only when the decision is 'mash-enquiry'")
            }
            enquiry = EnquiryRequest(
                rag: try request.enum("rag", RAG.self), consent: try Enquiry.consent(&request),
                agencies: try request.strings("agencies"), dateOfBirth: try request.optionalBirthDate("dateOfBirth"))
            try request.finish()
        } else if decision == .mashEnquiry {
            throw reader.error("enquiry", "is required when the decision is 'mash-enquiry'")
        } else {
            enquiry = nil
        }
        rationale = try reader.text("rationale")
        feedback = try reader.text("feedback")
        screenedBy = try reader.identifier("screenedBy")
        screenedAt = try reader.pastInstant("screenedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.screening.rawValue, "contactID": contactID, "decision": decision.rawValue,
            "rationale": rationale, "feedback": feedback, "screenedBy": screenedBy,
            "screenedAt": Instant.format(screenedAt),
        ]
        if let enquiry {
            var request: [String: Any] = ["rag": enquiry.rag.rawValue, "consent": enquiry.consent.json]
            if !enquiry.agencies.isEmpty { request["agencies"] = enquiry.agencies }
            request["dateOfBirth"] = enquiry.dateOfBirth?.description
            object["enquiry"] = request
        }
        return DocumentWriter.encode(object)
    }

    /// The enquiry a `mash-enquiry` screening opens about the contact's child: the household as the referrer
    /// gave it, the concern and what was done as the reason, the contact's reference as the case reference.
    public func enquiry(id: String, for contact: Contact, receivedAt: Date, lawfulBasis: LawfulBasis) -> Enquiry? {
        guard let request = enquiry else { return nil }
        var subject = contact.child
        subject.role = "child"
        subject.dateOfBirth = subject.dateOfBirth ?? request.dateOfBirth
        return Enquiry(
            id: id, reference: contact.reference, rag: request.rag, receivedAt: receivedAt, referrer: screenedBy,
            reason:
                "\(contact.concern)\n\nWhat the referrer (\(contact.referrer.role), \(contact.referrer.organisation)) "
                + "has done: \(contact.actionsTaken)\n\nScreening: \(rationale)",
            subject: subject, household: contact.household, agencies: request.agencies, consent: request.consent,
            lawfulBasis: lawfulBasis)
    }
}
