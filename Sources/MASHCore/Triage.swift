import Foundation

/// What the daily DAN triage decided about one notification (Medway MASH protocol: the triage meeting of
/// Police, CSC, Health, Education, Early Help and Probation).
public enum TriageDecision: String, Sendable, CaseIterable {
    case noFurtherAction = "no-further-action"
    /// Early Help is offered: the notification goes to CSC's front door, where Early Help takes referrals.
    case earlyHelp = "early-help"
    /// The school and the health visitor or school nurse are told by the meeting: recorded only.
    case schoolHealthInformed = "school-health-informed"
    /// A MASH enquiry is opened about one of the children, with a RAG rating.
    case openEnquiry = "open-enquiry"
}

/// The Practice Manager's record of the triage of one DAN, sent by the Practice Manager's desk to the hub.
public struct TriageOutcome: Sendable, Equatable {
    /// What an `open-enquiry` outcome opens: about which child, how urgent, on what consent, asking whom.
    public struct EnquiryRequest: Sendable, Equatable {
        /// The child's position in the DAN's `children` (from 0); an unborn child cannot be the subject.
        public var child: Int
        public var rag: RAG
        public var consent: Consent
        /// The agencies to ask; empty means the routing defaults for the RAG rating.
        public var agencies: [String]

        public init(child: Int, rag: RAG, consent: Consent, agencies: [String] = []) {
            self.child = child
            self.rag = rag
            self.consent = consent
            self.agencies = agencies
        }
    }

    /// The research agencies at the daily DAN triage meeting (the others there, CSC and Early Help, are not
    /// research agencies): an enquiry opened at triage on an override asks these, each having agreed there.
    public static let meetingAgencies = ["police", "health", "education", "probation"]

    public var danID: String
    public var decision: TriageDecision
    /// Required when the decision is `open-enquiry`, absent otherwise.
    public var enquiry: EnquiryRequest?
    public var rationale: String
    /// The staff id of the Practice Manager who recorded it.
    public var triagedBy: String
    public var triagedAt: Date

    public init(
        danID: String, decision: TriageDecision, enquiry: EnquiryRequest? = nil, rationale: String,
        triagedBy: String, triagedAt: Date
    ) {
        self.danID = danID
        self.decision = decision
        self.enquiry = enquiry
        self.rationale = rationale
        self.triagedBy = triagedBy
        self.triagedAt = triagedAt
    }

    /// Reads a triage outcome; a `triagedAt` later than `now` (beyond clock skew) is refused.
    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.triageOutcome)
        danID = try reader.identifier("danID")
        decision = try reader.enum("decision", TriageDecision.self)
        if var request = try reader.optionalObject("enquiry") {
            guard decision == .openEnquiry else {
                throw reader.error("enquiry", "is given only when the decision is 'open-enquiry'")
            }
            guard let child = try request.optionalInt("child") else { throw request.error("child", "is required") }
            guard child >= 0 else { throw request.error("child", "must be 0 or more") }
            enquiry = EnquiryRequest(
                child: child, rag: try request.enum("rag", RAG.self), consent: try Enquiry.consent(&request),
                agencies: try request.strings("agencies"))
            try request.finish()
        } else if decision == .openEnquiry {
            throw reader.error("enquiry", "is required when the decision is 'open-enquiry'")
        } else {
            enquiry = nil
        }
        rationale = try reader.text("rationale")
        triagedBy = try reader.identifier("triagedBy")
        triagedAt = try reader.pastInstant("triagedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        var document: [String: Any] = [
            "schema": DocumentType.triageOutcome.rawValue, "danID": danID, "decision": decision.rawValue,
            "rationale": rationale, "triagedBy": triagedBy, "triagedAt": Instant.format(triagedAt),
        ]
        if let enquiry {
            var request: [String: Any] = [
                "child": enquiry.child, "rag": enquiry.rag.rawValue, "consent": enquiry.consent.json,
            ]
            if !enquiry.agencies.isEmpty { request["agencies"] = enquiry.agencies }
            document["enquiry"] = request
        }
        return DocumentWriter.encode(document)
    }
}

extension DomesticAbuseNotification {
    /// The enquiry a triage outcome opens: about the chosen child, with the rest of the household (the adults
    /// and the other children born), the notification's circumstances and the meeting's rationale as the
    /// reason, and the police reference as the case reference. Nil if the child is not in the notification,
    /// is unborn, or lacks the name and date of birth an enquiry needs.
    public func enquiry(
        id: String, from outcome: TriageOutcome, _ request: TriageOutcome.EnquiryRequest, receivedAt: Date,
        lawfulBasis: LawfulBasis
    ) -> Enquiry? {
        guard children.indices.contains(request.child) else { return nil }
        let child = children[request.child]
        guard !child.isUnborn, child.person.forename != nil, child.person.surname != nil,
            child.person.dateOfBirth != nil
        else { return nil }
        var subject = child.person
        subject.role = "child"
        let others = children.enumerated().filter { $0.offset != request.child && !$0.element.isUnborn }
            .map(\.element.person)
        return Enquiry(
            id: id, reference: policeReference, rag: request.rag, receivedAt: receivedAt,
            referrer: outcome.triagedBy,
            reason: "Opened at the DAN triage of notification \(self.id): \(outcome.rationale)\n\n\(circumstances)",
            subject: subject, household: adults + others, agencies: request.agencies, consent: request.consent,
            lawfulBasis: lawfulBasis)
    }
}
