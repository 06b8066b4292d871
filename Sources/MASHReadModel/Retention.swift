import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHService

extension RetentionSchedule.Kind {
    /// The coordinator's tables of this kind, with the start for `event`; empty for kinds others hold (the
    /// record of sharing is reported, not yet purged: see README, retention).
    public func coordinatorTables(from event: RetentionSchedule.Event) -> [RetainedTable] {
        switch self {
        case .enquiries:
            let closed = "status IN ('decided', 'withdrawn', 'refused')"
            let start =
                event == .receipt
                ? "CASE WHEN \(closed) THEN opened_at END"
                : """
                CASE status WHEN 'decided' THEN decided_at WHEN 'withdrawn' THEN completed_at \
                WHEN 'refused' THEN opened_at END
                """
            return [
                .init(
                    table: "enquiry", id: "id", start: start, scope: "enquiry:", subjectRef: "subject_ref",
                    dependants: ["request.enquiry_id", "timer.enquiry_id"])
            ]
        case .dans: return [.init(table: "dan", id: "id", start: "received_at", scope: "dan:")]
        case .encompassNotices: return [.init(table: "encompass_notice", id: "id", start: "sent_at")]
        case .rolls:
            return [
                .init(table: "roll", id: "urn", start: "updated_at", scope: "roll:", dependants: ["roll_index.urn"]),
                .init(table: "roll_import", id: "id", start: "received_at"),
            ]
        case .openCases: return [.init(table: "open_case", id: "child_ref", start: "updated_at")]
        case .operatorActions:
            // A correction goes only once every recipient has confirmed it (closed_at is NULL until then).
            return [
                .init(table: "operator_action", id: "message_id", start: "at"),
                .init(
                    table: "correction", id: "id", start: "closed_at", scope: "correction:",
                    dependants: ["correction_copy.correction_id"]),
            ]
        case .missingEpisodes:
            // An episode's period starts when its return interview concluded it (closure) or when the hub first
            // heard of it (receipt).
            return [
                .init(
                    table: "missing_episode", id: "id", start: event == .receipt ? "received_at" : "concluded_at",
                    scope: "missing:", subjectRef: "coalesce(child_ref, '')", dependants: ["timer.enquiry_id"])
            ]
        case .contacts:
            // A contact closes when its referrer has been told the outcome; one screened into an enquiry is kept
            // until then (the enquiry has its own period).
            return [
                .init(
                    table: "contact", id: "id", start: event == .receipt ? "received_at" : "told_at",
                    scope: "contact:", subjectRef: "subject_ref", dependants: ["timer.enquiry_id"])
            ]
        case .consultations:
            return [
                .init(
                    table: "consultation", id: "id", start: "received_at", scope: "consultation:",
                    dependants: ["timer.enquiry_id"])
            ]
        case .inboxIDs: return RetainedTable.messageIDs
        case .deskItems, .adapterCopies, .viewLogs, .recordOfSharing: return []
        }
    }
}

extension HubReadModel {
    /// What one kind of record holds and when it goes: counts and dates only, never content.
    public struct RetentionLine: Sendable, Equatable, Encodable {
        public var kind: RetentionSchedule.Kind
        public var held: Int
        /// Past their period now: the next purge takes them (more than a few means the purge is not running).
        public var due: Int
        /// Going within `horizon` from now.
        public var dueSoon: Int
        /// When the next record goes (nil when nothing has started its period).
        public var nextDue: Date?
    }

    public func retention(_ schedule: RetentionSchedule, now: Date, horizon: TimeInterval) throws -> [RetentionLine] {
        try reader.read { db in
            try RetentionSchedule.Kind.allCases.compactMap { kind in
                let rule = schedule.rule(kind)
                let tables = kind.coordinatorTables(from: rule.from)
                guard !tables.isEmpty || kind == .recordOfSharing else { return nil }
                let parts =
                    kind == .recordOfSharing
                    ? [
                        RetainedTable(
                            table: "record_of_sharing", id: "seq", start: db.engine.epochSeconds(ofText: "at"))
                    ]
                    : tables
                var line = RetentionLine(kind: kind, held: 0, due: 0, dueSoon: 0, nextDue: nil)
                let cutoff = rule.period.cutoff(at: now).timeIntervalSince1970
                let soon = rule.period.cutoff(at: now.addingTimeInterval(horizon)).timeIntervalSince1970
                for part in parts {
                    let row = try Row.fetchOne(
                        db,
                        sql: """
                            SELECT count(*) AS held, count(CASE WHEN s < ? THEN 1 END) AS due,
                                count(CASE WHEN s < ? THEN 1 END) AS soon, min(s) AS first
                            FROM (SELECT \(part.start) AS s FROM \(part.table)) AS started
                            """, arguments: [cutoff, soon])!
                    line.held += row["held"] as Int
                    line.due += row["due"] as Int
                    line.dueSoon += row["soon"] as Int
                    if let first = row["first"] as Double? {
                        let due = rule.period.end(from: Date(timeIntervalSince1970: first))
                        line.nextDue = min(line.nextDue ?? due, due)
                    }
                }
                return line
            }
        }
    }
}
