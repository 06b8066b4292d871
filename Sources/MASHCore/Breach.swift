import Foundation

/// `mash.breach-report/1`, operator → coordinator: a personal data breach opened, updated or closed. The
/// coordinator works out from the record of sharing who is affected and tells each party at once; the 72-hour
/// clock to report to the Information Commissioner runs from `discoveredAt` (KMISA; UK GDPR Art. 33).
/// `summary` and `note` are the operator's words for partners: they must hold no personal data.
public struct BreachReport: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case open, update, close
    }

    /// Which disclosures the breach may have exposed: entries of the record of sharing to or from `parties`,
    /// about `enquiries`, or within `[from, to)`. At least one must be given; several narrow each other.
    public struct Scope: Sendable, Equatable {
        public var parties: [String]
        public var enquiries: [String]
        public var from: Date?
        public var to: Date?

        public init(parties: [String] = [], enquiries: [String] = [], from: Date? = nil, to: Date? = nil) {
            self.parties = parties
            self.enquiries = enquiries
            self.from = from
            self.to = to
        }

        public var isEmpty: Bool { parties.isEmpty && enquiries.isEmpty && from == nil && to == nil }
    }

    public var action: Action
    public var breachID: String
    public var requestedBy: String
    /// open: what happened, for partners (no personal data).
    public var summary: String?
    public var discoveredAt: Date?
    public var scope: Scope?
    /// update: what is new; close: why it is not reportable, when it is not.
    public var note: String?
    /// close: the ICO's case reference, when reported.
    public var icoReference: String?
    public var at: Date
    public var expiresAt: Date

    public init(
        action: Action, breachID: String, requestedBy: String, summary: String? = nil, discoveredAt: Date? = nil,
        scope: Scope? = nil, note: String? = nil, icoReference: String? = nil, at: Date, expiresAt: Date
    ) {
        self.action = action
        self.breachID = breachID
        self.requestedBy = requestedBy
        self.summary = summary
        self.discoveredAt = discoveredAt
        self.scope = scope
        self.note = note
        self.icoReference = icoReference
        self.at = at
        self.expiresAt = expiresAt
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.breachReport)
        action = try reader.enum("action", Action.self)
        breachID = try reader.identifier("breachID")
        requestedBy = try reader.identifier("requestedBy")
        summary = try reader.optionalString("summary")
        discoveredAt = try reader.optionalInstant("discoveredAt")
        if var scope = try reader.optionalObject("scope") {
            self.scope = Scope(
                parties: try scope.strings("parties"), enquiries: try scope.strings("enquiries"),
                from: try scope.optionalInstant("from"), to: try scope.optionalInstant("to"))
            try scope.finish()
        }
        note = try reader.optionalString("note")
        icoReference = try reader.optionalString("icoReference")
        at = try reader.instant("at")
        expiresAt = try reader.instant("expiresAt")
        switch action {
        case .open:
            guard summary?.trimmingSpaces.isEmpty == false else {
                throw reader.error("summary", "must say what happened")
            }
            guard let discoveredAt else { throw reader.error("discoveredAt", "is required to open a breach") }
            guard discoveredAt <= at.addingTimeInterval(300) else {
                throw reader.error("discoveredAt", "is in the future")
            }
            guard let scope, !scope.isEmpty else {
                throw reader.error("scope", "must name parties, enquiries or a time range")
            }
        case .update:
            guard note?.trimmingSpaces.isEmpty == false else { throw reader.error("note", "must say what is new") }
        case .close:
            guard (icoReference?.trimmingSpaces.isEmpty == false) != (note?.trimmingSpaces.isEmpty == false) else {
                throw reader.error(
                    "icoReference", "give the ICO's reference, or (not reportable) a note saying why, not both")
            }
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.breachReport.rawValue, "action": action.rawValue, "breachID": breachID,
            "requestedBy": requestedBy, "at": Instant.format(at), "expiresAt": Instant.format(expiresAt),
        ]
        object["summary"] = summary
        object["discoveredAt"] = discoveredAt.map(Instant.format)
        if let scope {
            var inner: [String: Any] = ["parties": scope.parties, "enquiries": scope.enquiries]
            inner["from"] = scope.from.map(Instant.format)
            inner["to"] = scope.to.map(Instant.format)
            object["scope"] = inner
        }
        object["note"] = note
        object["icoReference"] = icoReference
        return DocumentWriter.encode(object)
    }

    /// The 72 hours from discovery within which a reportable breach goes to the ICO.
    public static let reportWithin: TimeInterval = 72 * 3600
}

/// `mash.breach-notice/1`, coordinator → each affected party: a breach may have exposed data it sent or
/// received through the hub. It names the messages and cases by id only, which the party already holds.
public struct BreachNotice: Sendable, Equatable {
    public var breachID: String
    public var summary: String
    public var discoveredAt: Date
    public var reportBy: Date
    /// The ids of the messages this party sent or received that the breach may have exposed.
    public var messages: [String]
    /// The cases (enquiry, DAN, roll ids) those messages belong to.
    public var cases: [String]
    /// How many people those messages are about.
    public var people: Int
    public var at: Date

    public init(
        breachID: String, summary: String, discoveredAt: Date, reportBy: Date, messages: [String], cases: [String],
        people: Int, at: Date
    ) {
        self.breachID = breachID
        self.summary = summary
        self.discoveredAt = discoveredAt
        self.reportBy = reportBy
        self.messages = messages
        self.cases = cases
        self.people = people
        self.at = at
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.breachNotice)
        breachID = try reader.identifier("breachID")
        summary = try reader.string("summary")
        discoveredAt = try reader.instant("discoveredAt")
        reportBy = try reader.instant("reportBy")
        messages = try reader.strings("messages")
        cases = try reader.strings("cases")
        guard let people = try reader.optionalInt("people"), people >= 0 else {
            throw reader.error("people", "is required (a count)")
        }
        self.people = people
        at = try reader.instant("at")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.breachNotice.rawValue, "breachID": breachID, "summary": summary,
            "discoveredAt": Instant.format(discoveredAt), "reportBy": Instant.format(reportBy), "messages": messages,
            "cases": cases, "people": people, "at": Instant.format(at),
        ])
    }
}
