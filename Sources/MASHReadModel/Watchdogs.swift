import Foundation
import GRDB
import MASHConfig
import MASHCore

/// What fails to arrive: parties never heard from or gone silent, school roll feeds past their cadence, DAN
/// triage lists left untriaged into the next working day, Encompass notices past due without a receipt. Read
/// by the coordinator for `/metrics` and by `mashctl status` for its findings; ids, times and counts only.
extension HubReadModel {
    public struct PartyHeard: Sendable, Equatable, Encodable {
        public var party: String
        public var kind: ExpectedParty.Kind
        public var lastHeartbeatAt: Date?
        /// The heartbeat interval the party last gave.
        public var interval: TimeInterval?

        /// Silent: no heartbeat for three of its intervals (30 s when it gave none).
        public func silent(at now: Date) -> Bool {
            guard let heard = lastHeartbeatAt else { return false }
            return now.timeIntervalSince(heard) > 3 * (interval ?? 30)
        }
    }

    /// Each expected party with its last heartbeat (nil: never heard).
    public func heard(_ expected: [ExpectedParty]) throws -> [PartyHeard] {
        let rows = try reader.read { db in
            try Row.fetchAll(db, sql: "SELECT agency, last_heartbeat_at, heartbeat_interval FROM adapter")
        }
        var last: [String: (Date?, TimeInterval?)] = [:]
        for row in rows {
            last[row["agency"]] = (
                (row["last_heartbeat_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                row["heartbeat_interval"]
            )
        }
        return expected.map {
            PartyHeard(
                party: $0.party, kind: $0.kind, lastHeartbeatAt: last[$0.party]?.0 ?? nil,
                interval: last[$0.party]?.1 ?? nil)
        }
    }

    public struct RollFeed: Sendable, Equatable, Codable {
        public var urn: String
        public var everyDays: Int
        /// The last feed accepted (a rejected file does not count as a feed).
        public var lastAcceptedAt: Date?

        public func overdue(at now: Date) -> Bool {
            guard everyDays > 0, let last = lastAcceptedAt else { return false }
            return now.timeIntervalSince(last) > TimeInterval(everyDays) * 86_400
        }
    }

    /// Every school expecting feeds, with its last accepted feed.
    public func rollFeeds(_ schools: [SchoolConfiguration]) throws -> [RollFeed] {
        let last = try reader.read { db in
            try Row.fetchAll(
                db, sql: "SELECT urn, MAX(received_at) AS at FROM roll_import WHERE status = 'accepted' GROUP BY urn")
        }
        var byURN: [String: Date] = [:]
        for row in last { byURN[row["urn"]] = Date(timeIntervalSince1970: row["at"]) }
        return schools.filter { $0.rollFeedEveryDays > 0 }.sorted { $0.urn < $1.urn }.map {
            RollFeed(urn: $0.urn, everyDays: $0.rollFeedEveryDays, lastAcceptedAt: byURN[$0.urn])
        }
    }

    public struct UntriagedDay: Sendable, Equatable, Codable {
        /// The triage the DANs went to (YYYY-MM-DD).
        public var date: String
        public var untriaged: Int
    }

    /// The days whose triage list still has DANs without an outcome now that the next working day has come.
    public func untriagedDANs(calendar: WorkingCalendar, now: Date) throws -> [UntriagedDay] {
        let today = calendar.localDate(of: now)
        let rows = try reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT triage_date, COUNT(*) AS n FROM dan
                    WHERE triage_date IS NOT NULL AND triage_decision IS NULL AND triage_date < ?
                    GROUP BY triage_date ORDER BY triage_date
                    """, arguments: [today.description])
        }
        return rows.compactMap { row in
            guard let date = LocalDate(row["triage_date"] as String),
                calendar.nextWorkingDay(after: date) <= today
            else { return nil }
            return UntriagedDay(date: date.description, untriaged: row["n"])
        }
    }

    /// Encompass notices past their due time (the school day's start) with no receipt from the school.
    public func unacknowledgedEncompassNotices(now: Date) throws -> Int {
        try reader.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM encompass_notice WHERE acknowledged_at IS NULL AND due <= ?",
                arguments: [now.timeIntervalSince1970]) ?? 0
        }
    }

    /// Refusal reports from adapters and desks, by the refused message.
    public struct RefusalReported: Sendable, Equatable, Encodable {
        public var party: String
        public var reason: String
        public var detail: String
        public var refusedAt: Date
    }

    /// The reports for messages refused on `queue`, by message id.
    public func refusals(queue: String, messageIDs: [String]) throws -> [String: RefusalReported] {
        guard !messageIDs.isEmpty else { return [:] }
        return try reader.read { db in
            var found: [String: RefusalReported] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT message_id, party, reason, detail, refused_at FROM refusal
                    WHERE queue = ? AND message_id IN (\(databaseQuestionMarks(count: messageIDs.count)))
                    ORDER BY refused_at
                    """, arguments: StatementArguments([queue] + messageIDs))
            {
                found[row["message_id"]] = RefusalReported(
                    party: row["party"], reason: row["reason"], detail: row["detail"],
                    refusedAt: Date(timeIntervalSince1970: row["refused_at"]))
            }
            return found
        }
    }

    /// Refusal reports by party and reason since `since` (for `mashctl status`).
    public func refusalCounts(since: Date) throws -> [(party: String, reason: String, count: Int)] {
        try reader.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT party, reason, COUNT(*) AS n FROM refusal WHERE received_at >= ?
                    GROUP BY party, reason ORDER BY party, reason
                    """, arguments: [since.timeIntervalSince1970]
            ).map { (party: $0["party"], reason: $0["reason"], count: $0["n"]) }
        }
    }
}
