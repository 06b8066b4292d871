import Foundation
import GRDB

extension HubReadModel {
    /// A contact as operators see it: references, states and times, never the child or the concern.
    public struct ContactLine: Sendable, Equatable, Encodable {
        public var contactID: String
        /// What the referrer quotes (`MC-…`).
        public var reference: String
        public var portal: String
        /// `received` (waiting to be screened), `screened` (a MASH enquiry is open) or `told`.
        public var state: String
        public var receivedAt: Date
        public var screenDue: Date
        public var decision: String?
        public var enquiryID: String?
        public var outcome: String?
        /// When the outcome was sent to the referrer's portal, by when the portal must confirm it, and when it did.
        public var toldAt: Date?
        public var feedbackDue: Date?
        public var deliveredAt: Date?
        public var consultation: String?

        public func unscreenedOverdue(at now: Date) -> Bool { state == "received" && screenDue <= now }

        public func feedbackLate(at now: Date) -> Bool {
            deliveredAt == nil && (feedbackDue.map { $0 <= now } ?? false)
        }
    }

    /// A no-name consultation: references, the professional's account and times (it identifies no child).
    public struct ConsultationLine: Sendable, Equatable, Encodable {
        public var consultationID: String
        public var reference: String
        public var professional: String
        public var heldAt: Date
        public var summaryDue: Date
        public var deliveredAt: Date?
        public var corrections: Int

        public func summaryLate(at now: Date) -> Bool { deliveredAt == nil && summaryDue <= now }
    }

    /// Contacts still open (not screened, or the outcome not yet confirmed by the portal) and those received
    /// since `since`, soonest due first.
    public func contacts(since: Date) throws -> [ContactLine] {
        try reader.read { db in
            guard try db.tableExists("contact") else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, reference, portal, state, received_at, screen_due, decision, enquiry_id, outcome,
                        told_at, feedback_due, delivered_at, consultation
                    FROM contact WHERE state != 'told' OR delivered_at IS NULL OR received_at >= ?
                    ORDER BY state = 'told', screen_due
                    """, arguments: [since.timeIntervalSince1970]
            ).map { row in
                func date(_ column: String) -> Date? {
                    (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
                }
                return ContactLine(
                    contactID: row["id"], reference: row["reference"], portal: row["portal"], state: row["state"],
                    receivedAt: date("received_at")!, screenDue: date("screen_due")!, decision: row["decision"],
                    enquiryID: row["enquiry_id"], outcome: row["outcome"], toldAt: date("told_at"),
                    feedbackDue: date("feedback_due"), deliveredAt: date("delivered_at"),
                    consultation: row["consultation"])
            }
        }
    }

    /// Consultations whose summary is not yet confirmed, and those held since `since`.
    public func consultations(since: Date) throws -> [ConsultationLine] {
        try reader.read { db in
            guard try db.tableExists("consultation") else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, reference, professional, held_at, summary_due, delivered_at, corrections
                    FROM consultation WHERE delivered_at IS NULL OR held_at >= ? ORDER BY held_at DESC
                    """, arguments: [since.timeIntervalSince1970]
            ).map { row in
                ConsultationLine(
                    consultationID: row["id"], reference: row["reference"], professional: row["professional"],
                    heldAt: Date(timeIntervalSince1970: row["held_at"]),
                    summaryDue: Date(timeIntervalSince1970: row["summary_due"]),
                    deliveredAt: (row["delivered_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
                    corrections: row["corrections"])
            }
        }
    }
}
