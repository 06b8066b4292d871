import Foundation
import GRDB

extension HubReadModel {
    /// One DAN going to a day's triage: ids, levels, flags and counts, no names.
    public struct TriageEntry: Sendable, Equatable, Encodable {
        public var dan: String
        public var receivedAt: Date
        public var level: String
        public var assessedLevel: String
        public var tool: String
        public var flags: [String]
        public var children: Int
        public var encompassNotices: Int
        /// The triage outcome once recorded (`TriageDecision`), and the enquiry it opened.
        public var decision: String?
        public var enquiry: String?
    }

    public struct TriageReport: Sendable, Equatable, Encodable {
        public var date: String
        public var triage: [TriageEntry]
        public var receivedThatDay: Int
        /// Every DAN is copied to Probation.
        public var copiedToProbation: Int
    }

    /// The DANs going to the triage of `day` (YYYY-MM-DD), oldest first, and how many arrived that day.
    public func triage(on day: String) throws -> TriageReport {
        try reader.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, received_at, level, effective_level, tool, flags, children, notices, triage_decision,
                        triage_enquiry
                    FROM dan
                    WHERE triage_date = ? ORDER BY received_at
                    """, arguments: [day])
            let received =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dan WHERE received_date = ?", arguments: [day]) ?? 0
            return TriageReport(
                date: day,
                triage: rows.map { row in
                    let flags: String = row["flags"]
                    return TriageEntry(
                        dan: row["id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                        level: row["effective_level"], assessedLevel: row["level"], tool: row["tool"],
                        flags: flags.isEmpty ? [] : flags.split(separator: ",").map(String.init),
                        children: row["children"], encompassNotices: row["notices"], decision: row["triage_decision"],
                        enquiry: row["triage_enquiry"])
                }, receivedThatDay: received, copiedToProbation: received)
        }
    }
}
