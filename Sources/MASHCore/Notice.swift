import Foundation

/// The small messages around an enquiry that carry ids, times and reasons but no personal data: a refusal to
/// the SPA, a cancellation or a chase to an agency, an SLA alert to the Practice Manager.
public struct Notice: Sendable, Equatable {
    /// What an SLA alert reports.
    public enum Event: String, Sendable, CaseIterable {
        /// 75 % of the allowed time has passed.
        case warning
        /// The deadline passed without an answer.
        case breach
        /// Still unanswered, an interval after the breach.
        case chase
    }

    public var type: DocumentType
    public var enquiryID: String
    public var requestID: String?
    public var agency: String?
    public var event: Event?
    /// For the decision clock rather than an agency's.
    public var clock: String?
    public var dueBy: Date?
    public var reason: String?
    public var at: Date

    public init(
        type: DocumentType, enquiryID: String, requestID: String? = nil, agency: String? = nil, event: Event? = nil,
        clock: String? = nil, dueBy: Date? = nil, reason: String? = nil, at: Date
    ) {
        self.type = type
        self.enquiryID = enquiryID
        self.requestID = requestID
        self.agency = agency
        self.event = event
        self.clock = clock
        self.dueBy = dueBy
        self.reason = reason
        self.at = at
    }

    public static let types: [DocumentType] = [
        .enquiryRefusal, .requestNotSent, .requestCancellation, .requestChase, .slaAlert,
    ]

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        let schema = try reader.string("schema")
        guard let type = DocumentType(rawValue: schema), Self.types.contains(type) else {
            throw reader.error("schema", "'\(schema)' is not a notice type")
        }
        self.type = type
        enquiryID = try reader.identifier("enquiryID")
        requestID = try reader.optionalIdentifier("requestID")
        agency = try reader.optionalString("agency")
        event = try reader.optionalEnum("event", Event.self)
        clock = try reader.optionalString("clock")
        dueBy = try reader.optionalInstant("dueBy")
        reason = try reader.optionalString("reason")
        at = try reader.instant("at")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = ["schema": type.rawValue, "enquiryID": enquiryID, "at": Instant.format(at)]
        object["requestID"] = requestID
        object["agency"] = agency
        object["event"] = event?.rawValue
        object["clock"] = clock
        object["dueBy"] = dueBy.map(Instant.format)
        object["reason"] = reason
        return DocumentWriter.encode(object)
    }
}
