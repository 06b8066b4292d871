import Foundation

/// `mash.refusal-report/1`, an adapter or desk → coordinator: a message it refused and rejected to its queue's
/// dead-letter queue. The party's broker user may not publish to the dead-letter exchange, so RabbitMQ's
/// dead letter says only `rejected`; this report is how the hub learns why. It carries the refused message's
/// id, queue and type, the reason code and the detail (which names fields and ids, never a value), nothing of
/// the message's content.
public struct RefusalReport: Sendable, Equatable {
    public var party: String
    public var messageID: String
    public var queue: String
    /// The refused message's AMQP `type`, when it had one.
    public var type: String?
    public var reason: String
    public var detail: String
    public var refusedAt: Date

    public init(
        party: String, messageID: String, queue: String, type: String?, reason: String, detail: String,
        refusedAt: Date
    ) {
        self.party = party
        self.messageID = messageID
        self.queue = queue
        self.type = type
        self.reason = reason
        self.detail = detail
        self.refusedAt = refusedAt
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.refusalReport)
        party = try reader.identifier("party")
        messageID = try reader.string("messageID")
        queue = try reader.string("queue")
        type = try reader.optionalString("type")
        reason = try reader.string("reason")
        detail = try reader.string("detail")
        refusedAt = try reader.instant("refusedAt")
        for (key, value, limit) in [
            ("messageID", messageID, 128), ("queue", queue, 255), ("type", type ?? "", 128), ("reason", reason, 64),
            ("detail", detail, 500),
        ] where value.count > limit {
            throw reader.error(key, "is longer than \(limit) characters")
        }
        guard reason.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !reason.isEmpty else {
            throw reader.error("reason", "must be a reason code (letters, digits, - and _)")
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.refusalReport.rawValue, "party": party, "messageID": messageID, "queue": queue,
            "reason": reason, "detail": String(detail.prefix(500)), "refusedAt": Instant.format(refusedAt),
        ]
        object["type"] = type.map { String($0.prefix(128)) }
        return DocumentWriter.encode(object)
    }
}
