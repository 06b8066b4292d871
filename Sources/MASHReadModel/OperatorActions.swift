import Foundation
import GRDB
import MASHService

/// An operator request the coordinator has carried out (`mashctl dlq replay`, `mashctl cases import`).
public struct OperatorAction: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case deadLetterReplay = "dead-letter-replay"
        case openCaseImport = "open-case-import"
        case subjectAccess = "subject-access"
        case subjectRestriction = "subject-restriction"
        case subjectCorrection = "subject-correction"
        case breach = "breach"
        case contentView = "content-view"
        case meetingList = "meeting-list"
    }

    /// The request's message id.
    public var messageID: String
    public var kind: Kind
    /// The broker party that sent it (its key signed it).
    public var sender: String
    /// The staff member it names.
    public var operatorName: String
    public var at: Date
    /// Counts and codes, never personal data.
    public var summary: String
}

extension OperatorAction {
    /// The kinds that show someone personal data: what `mashctl audit views` lists.
    public static let views: Set<Kind> = [.contentView, .subjectAccess]

    init(_ row: Row) throws {
        let kind: String = row["kind"]
        guard let parsed = Kind(rawValue: kind) else {
            let id: String = row["message_id"]
            throw CorruptStore(detail: "operator_action \(id) has the unknown kind '\(kind)'")
        }
        self.init(
            messageID: row["message_id"], kind: parsed, sender: row["sender"], operatorName: row["operator"],
            at: Date(timeIntervalSince1970: row["at"]), summary: row["summary"])
    }
}

extension HubReadModel {
    /// The request sent as `messageID`, once the coordinator has carried it out.
    public func operatorAction(messageID: String) throws -> OperatorAction? {
        try reader.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM operator_action WHERE message_id = ?", arguments: [messageID])
            else { return nil }
            return try OperatorAction(row)
        }
    }

    /// The requests of `kinds` carried out from `from` (inclusive) to `to` (exclusive), by `staff` when given,
    /// oldest first.
    public func operatorActions(
        kinds: Set<OperatorAction.Kind>, from: Date? = nil, to: Date? = nil, staff: String? = nil
    ) throws -> [OperatorAction] {
        try reader.read { db in
            var conditions = ["kind IN (\(kinds.map { _ in "?" }.joined(separator: ",")))"]
            var arguments = StatementArguments(kinds.map(\.rawValue).sorted())
            if let from {
                conditions.append("at >= ?")
                arguments += [from.timeIntervalSince1970]
            }
            if let to {
                conditions.append("at < ?")
                arguments += [to.timeIntervalSince1970]
            }
            if let staff {
                conditions.append("operator = ?")
                arguments += [staff]
            }
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT * FROM operator_action WHERE \(conditions.joined(separator: " AND ")) ORDER BY at, \(db.engine.rowIdentity)",
                arguments: arguments
            ).map(OperatorAction.init)
        }
    }
}

/// The store holds something the code does not know, or lacks a row another names: the store is newer than the
/// program, or damaged. Nothing defaults; in the coordinator it fails the whole batch, never the message.
public struct CorruptStore: Error, CustomStringConvertible {
    public var detail: String
    public init(detail: String) { self.detail = detail }
    public var description: String { "the coordinator's store is inconsistent: \(detail)" }
}
