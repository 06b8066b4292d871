import Foundation
import GRDB
import MASHCore

extension HubReadModel {
    /// A missing episode as operators see it: ids, codes and times, never the child.
    public struct MissingEpisodeLine: Sendable, Equatable, Encodable {
        public var episodeID: String
        /// `missing`, `found` (the interview is due) or `concluded` (MissingEpisode.State).
        public var state: String
        /// Whether the police's missing report has come (a found report can come first).
        public var reported: Bool
        public var risk: String?
        /// The placing authority (`la-<code>`), or nil for a Medway child.
        public var authority: String?
        public var reportedAt: Date?
        public var foundAt: Date?
        public var interviewDue: Date?
        public var heldAt: Date?
        public var concludedAt: Date?
        public var response: String?
        /// Requests sent again to the placing authority.
        public var chases: Int
        public var exploitationFlagged: Bool

        /// The interview is due and its time has passed.
        public func overdue(at now: Date) -> Bool {
            state == MissingEpisode.State.found.rawValue && (interviewDue.map { $0 <= now } ?? false)
        }

        /// Held within its time (the statutory 72 hours unless configured otherwise).
        public var heldInTime: Bool {
            guard let heldAt, let interviewDue else { return false }
            return heldAt <= interviewDue
        }
    }

    /// Every episode still open (missing, or found with the interview due), and those concluded since `since`,
    /// soonest due first.
    public func missingEpisodes(concludedSince since: Date) throws -> [MissingEpisodeLine] {
        try reader.read { db in
            guard try db.tableExists("missing_episode") else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, state, reported, risk, placing_authority, reported_at, found_at, interview_due,
                        held_at, concluded_at, interview_response, chases, exploitation
                    FROM missing_episode WHERE state != 'concluded' OR concluded_at >= ?
                    ORDER BY interview_due IS NULL, interview_due, reported_at
                    """, arguments: [since.timeIntervalSince1970]
            ).map { row in
                func date(_ column: String) -> Date? {
                    (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
                }
                return MissingEpisodeLine(
                    episodeID: row["id"], state: row["state"], reported: row["reported"], risk: row["risk"],
                    authority: row["placing_authority"], reportedAt: date("reported_at"), foundAt: date("found_at"),
                    interviewDue: date("interview_due"), heldAt: date("held_at"), concludedAt: date("concluded_at"),
                    response: row["interview_response"], chases: row["chases"],
                    exploitationFlagged: !(row["exploitation"] as String? ?? "").isEmpty)
            }
        }
    }

    /// The share of return interviews held in time, of the episodes whose clock ended (interview concluded or
    /// time run out) within `window` before `now`; nil when there were none.
    public func returnInterviewsHeldInTime(window: TimeInterval, now: Date) throws -> Double? {
        try reader.read { db in
            guard try db.tableExists("missing_episode") else { return nil }
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS due, SUM(CASE WHEN held_at IS NOT NULL AND held_at <= interview_due THEN 1 ELSE 0 END) AS held
                    FROM missing_episode
                    WHERE interview_due IS NOT NULL AND interview_due >= ? AND (interview_due <= ? OR held_at IS NOT NULL)
                    """, arguments: [now.timeIntervalSince1970 - window, now.timeIntervalSince1970])
            let due: Int = row?["due"] ?? 0
            guard due > 0 else { return nil }
            return Double(row?["held"] as Int? ?? 0) / Double(due)
        }
    }
}
