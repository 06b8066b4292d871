import Foundation

/// What the decision maker decided about an enquiry (Medway MASH protocol: the outcomes of a MASH decision).
public enum DecisionOutcome: String, Sendable, CaseIterable {
    case noFurtherAction = "no-further-action"
    case informationAndAdvice = "information-and-advice"
    case earlyHelp = "early-help"
    case singleAgency = "single-agency"
    /// A child in need assessment (Children Act 1989 s17).
    case childInNeedAssessment = "child-in-need-assessment"
    /// A strategy discussion (Children Act 1989 s47).
    case strategyDiscussion = "strategy-discussion"
}

/// The decision maker's decision on a decision package, sent by the decision maker's desk to the coordinator:
/// it stops the decision clock, goes on the record, and reaches the referrer as a `mash.outcome/1`.
public struct Decision: Sendable, Equatable {
    public var enquiryID: String
    public var outcome: DecisionOutcome
    /// Why, in the decision maker's words (it goes to the referrer with the outcome).
    public var rationale: String
    /// The staff id of the person who decided.
    public var decidedBy: String
    public var decidedAt: Date

    public init(enquiryID: String, outcome: DecisionOutcome, rationale: String, decidedBy: String, decidedAt: Date) {
        self.enquiryID = enquiryID
        self.outcome = outcome
        self.rationale = rationale
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
    }

    /// Reads a decision; a `decidedAt` later than `now` (beyond clock skew) is refused.
    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.decision)
        enquiryID = try reader.identifier("enquiryID")
        outcome = try reader.enum("outcome", DecisionOutcome.self)
        rationale = try reader.string("rationale")
        decidedBy = try reader.identifier("decidedBy")
        decidedAt = try reader.pastInstant("decidedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.decision.rawValue, "enquiryID": enquiryID, "outcome": outcome.rawValue,
            "rationale": rationale, "decidedBy": decidedBy, "decidedAt": Instant.format(decidedAt),
        ])
    }
}

/// The outcome of an enquiry as the coordinator tells the referrer and the agencies that answered: the
/// decision, with the referrer's own case reference so it can be filed against the contact. An agency's copy
/// names the request it answered and leaves out the rationale, which may draw on other agencies' findings.
public struct EnquiryOutcome: Sendable, Equatable {
    public var enquiryID: String
    /// The referrer's case reference from the enquiry.
    public var reference: String
    /// In an agency's copy: the request that agency answered.
    public var requestID: String?
    public var outcome: DecisionOutcome
    /// In the referrer's copy only.
    public var rationale: String?
    public var decidedBy: String
    public var decidedAt: Date
    /// The decision deadline, and whether the decision came after it.
    public var decisionDue: Date
    public var late: Bool

    public init(
        enquiryID: String, reference: String, requestID: String? = nil, outcome: DecisionOutcome, rationale: String?,
        decidedBy: String, decidedAt: Date, decisionDue: Date, late: Bool
    ) {
        self.enquiryID = enquiryID
        self.reference = reference
        self.requestID = requestID
        self.outcome = outcome
        self.rationale = rationale
        self.decidedBy = decidedBy
        self.decidedAt = decidedAt
        self.decisionDue = decisionDue
        self.late = late
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.outcome)
        enquiryID = try reader.identifier("enquiryID")
        reference = try reader.string("reference")
        requestID = try reader.optionalIdentifier("requestID")
        outcome = try reader.enum("outcome", DecisionOutcome.self)
        rationale = try reader.optionalString("rationale")
        decidedBy = try reader.identifier("decidedBy")
        decidedAt = try reader.instant("decidedAt")
        decisionDue = try reader.instant("decisionDue")
        guard let late = try reader.optionalBool("late") else { throw reader.error("late", "is required") }
        self.late = late
        try reader.finish()
    }

    public var json: [UInt8] {
        var document: [String: Any] = [
            "schema": DocumentType.outcome.rawValue, "enquiryID": enquiryID, "reference": reference,
            "outcome": outcome.rawValue, "decidedBy": decidedBy, "decidedAt": Instant.format(decidedAt),
            "decisionDue": Instant.format(decisionDue), "late": late,
        ]
        document["requestID"] = requestID
        document["rationale"] = rationale
        return DocumentWriter.encode(document)
    }

    /// The copy for an agency that answered `requestID`: without the rationale.
    public func forAgency(request requestID: String) -> EnquiryOutcome {
        var copy = self
        copy.requestID = requestID
        copy.rationale = nil
        return copy
    }
}
