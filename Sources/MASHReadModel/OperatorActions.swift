import Foundation
import GRDB

/// An operator request the coordinator has carried out (`mashctl dlq replay`, `mashctl cases import`).
public struct OperatorAction: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case deadLetterReplay = "dead-letter-replay"
        case openCaseImport = "open-case-import"
        case subjectAccess = "subject-access"
        case subjectRestriction = "subject-restriction"
        case subjectCorrection = "subject-correction"
        case breach = "breach"
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

extension HubReadModel {
    /// The request sent as `messageID`, once the coordinator has carried it out.
    public func operatorAction(messageID: String) throws -> OperatorAction? {
        try reader.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM operator_action WHERE message_id = ?", arguments: [messageID])
            else { return nil }
            let kind: String = row["kind"]
            guard let parsed = OperatorAction.Kind(rawValue: kind) else {
                throw CorruptStore(detail: "operator_action \(messageID) has the unknown kind '\(kind)'")
            }
            return OperatorAction(
                messageID: row["message_id"], kind: parsed, sender: row["sender"], operatorName: row["operator"],
                at: Date(timeIntervalSince1970: row["at"]), summary: row["summary"])
        }
    }

    /// Waits (polling, read-only) until the coordinator has carried out the request sent as `messageID`, or
    /// `timeout` passes.
    public func awaitOperatorAction(messageID: String, timeout: Duration) async throws -> OperatorAction? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let action = try operatorAction(messageID: messageID) { return action }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try operatorAction(messageID: messageID)
    }
}

/// The store holds something the code does not know, or lacks a row another names: the store is newer than the
/// program, or damaged. Nothing defaults; in the coordinator it fails the whole batch, never the message.
public struct CorruptStore: Error, CustomStringConvertible {
    public var detail: String
    public init(detail: String) { self.detail = detail }
    public var description: String { "the coordinator's store is inconsistent: \(detail)" }
}
