import Foundation
import GRDB
import MASHCore
import MASHService

/// What operators and metrics read from the store: ids, times, codes and counts, never an enquiry's content.
extension HubReadModel {
    /// Enquiries of one RAG rating still to finish. Awaiting answers: how many, how many are past a warning but
    /// not yet a deadline, and how many are past a deadline (a partner's answer or the decision). Then those
    /// whose package went to the decision maker with no decision yet, and how many of them are past the
    /// decision deadline.
    public struct OpenEnquiries: Sendable, Equatable, Codable {
        public var rag: String
        public var open = 0
        public var atRisk = 0
        public var breached = 0
        public var awaitingDecision = 0
        public var decisionOverdue = 0
        /// The soonest deadline still running among the open ones (a partner's answer or the decision; in the
        /// past when one is breached); nil when none is open.
        public var nextDeadline: Date?

        public init(
            rag: String, open: Int = 0, atRisk: Int = 0, breached: Int = 0, awaitingDecision: Int = 0,
            decisionOverdue: Int = 0
        ) {
            self.rag = rag
            self.open = open
            self.atRisk = atRisk
            self.breached = breached
            self.awaitingDecision = awaitingDecision
            self.decisionOverdue = decisionOverdue
        }
    }

    /// One row per RAG rating, red first, including ratings with nothing open.
    public func openEnquiries(now: Date) throws -> [OpenEnquiries] {
        let arguments = StatementArguments(Self.statuses.merging(["now": now.timeIntervalSince1970]) { $1 })
        let (rows, deciding) = try reader.read { db in
            (
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT rag, COUNT(*) AS open, SUM(breached) AS breached,
                               SUM(CASE WHEN breached = 0 AND at_risk = 1 THEN 1 ELSE 0 END) AS at_risk,
                               MIN(next_due) AS next_due
                        FROM (\(Self.openEnquiryClocks(db.engine))) AS clocks GROUP BY rag
                        """, arguments: arguments),
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT rag, COUNT(*) AS waiting, SUM(CASE WHEN decision_due <= :now THEN 1 ELSE 0 END) AS overdue
                        FROM enquiry WHERE status = :complete GROUP BY rag
                        """, arguments: arguments)
            )
        }
        var byRAG = Dictionary(
            uniqueKeysWithValues: RAG.allCases.map { ($0.rawValue, OpenEnquiries(rag: $0.rawValue)) })
        for row in rows {
            let rag: String = row["rag"]
            byRAG[rag] = OpenEnquiries(rag: rag, open: row["open"], atRisk: row["at_risk"], breached: row["breached"])
            byRAG[rag]?.nextDeadline = (row["next_due"] as Double?).map(Date.init(timeIntervalSince1970:))
        }
        for row in deciding {
            let rag: String = row["rag"]
            byRAG[rag, default: OpenEnquiries(rag: rag)].awaitingDecision = row["waiting"]
            byRAG[rag, default: OpenEnquiries(rag: rag)].decisionOverdue = row["overdue"]
        }
        return RAG.allCases.compactMap { byRAG[$0.rawValue] }
    }

    /// Each awaiting enquiry with 1 in `breached` when a clock has passed, and 1 in `at_risk` when a warning has.
    /// The statuses the queries name, as arguments (`:awaiting`, `:complete`, `:sent`).
    static var statuses: [String: (any DatabaseValueConvertible)?] {
        [
            "awaiting": EnquiryStatus.awaiting.rawValue, "complete": EnquiryStatus.complete.rawValue,
            "sent": RequestStatus.sent.rawValue,
        ]
    }

    private static func openEnquiryClocks(_ engine: SQLEngine) -> String {
        """
        SELECT e.id, e.rag,
          CASE WHEN e.decision_due <= :now OR EXISTS (SELECT 1 FROM request r WHERE r.enquiry_id = e.id
             AND r.status = :sent AND r.due <= :now) THEN 1 ELSE 0 END AS breached,
          CASE WHEN e.decision_warning <= :now OR EXISTS (SELECT 1 FROM request r WHERE r.enquiry_id = e.id
             AND r.status = :sent AND r.warning <= :now) THEN 1 ELSE 0 END AS at_risk,
          \(engine.least("e.decision_due", """
            COALESCE((SELECT MIN(r.due) FROM request r WHERE r.enquiry_id = e.id
             AND r.status = :sent), e.decision_due)
            """)) AS next_due
        FROM enquiry e WHERE e.status = :awaiting
        """
    }

    /// An enquiry as `mashctl enquiries` lists it.
    public struct EnquiryOverview: Sendable, Equatable, Codable {
        public struct Request: Sendable, Equatable, Codable {
            public var agency: String
            public var mandatory: Bool
            /// sent (not answered yet), answered or cancelled.
            public var status: String
            public var outcome: String?
            public var due: Date
            public var answeredAt: Date?
        }

        public var id: String
        public var rag: String
        /// awaiting, complete (package sent, decision awaited), decided, withdrawn or refused.
        public var status: String
        public var openedAt: Date
        public var partnersDue: Date
        public var decisionDue: Date
        public var completedAt: Date?
        /// A clock has passed while the enquiry was open, or a breach was recorded.
        public var breached: Bool
        public var requests: [Request]

        /// The agencies asked that have not answered.
        public var notAnswered: [String] { requests.filter { $0.status == "sent" }.map(\.agency) }

        /// The soonest deadline still running: an unanswered request's, or the decision's until it is made.
        public var nextDeadline: Date? {
            switch status {
            case EnquiryStatus.awaiting.rawValue:
                return (requests.filter { $0.status == "sent" }.map(\.due) + [decisionDue]).min()
            case EnquiryStatus.complete.rawValue:
                return decisionDue
            default:
                return nil
            }
        }
    }

    public enum EnquiryFilter: String, Sendable, CaseIterable {
        case awaiting, complete, breached
    }

    /// Enquiries, newest first, optionally of one RAG rating and one state.
    public func enquiries(rag: RAG? = nil, filter: EnquiryFilter? = nil, limit: Int = 200, now: Date) throws
        -> [EnquiryOverview]
    {
        try reader.read { db in
            var conditions: [String] = []
            var arguments = Self.statuses
            arguments["now"] = now.timeIntervalSince1970
            if let rag {
                conditions.append("e.rag = :rag")
                arguments["rag"] = rag.rawValue
            }
            switch filter {
            case .awaiting: conditions.append("e.status = :awaiting")
            case .complete: conditions.append("e.status = :complete")
            case .breached: conditions.append("breached = 1")
            case nil: break
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments["limit"] = limit
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM (
                      SELECT e.*, (EXISTS (SELECT 1 FROM timer t WHERE t.enquiry_id = e.id AND t.event = 'breach'
                                     AND t.fired_at >= t.due)
                                   OR (e.status = :awaiting AND (e.decision_due <= :now
                                     OR EXISTS (SELECT 1 FROM request r WHERE r.enquiry_id = e.id
                                       AND r.status = :sent AND r.due <= :now)))) AS breached
                      FROM enquiry e) e
                    \(whereClause) ORDER BY e.opened_at DESC LIMIT :limit
                    """, arguments: StatementArguments(arguments))
            return try rows.map { row in
                let id: String = row["id"]
                let requests = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT agency, mandatory, status, outcome, due, answered_at FROM request
                        WHERE enquiry_id = ? ORDER BY agency
                        """, arguments: [id]
                ).map { request in
                    EnquiryOverview.Request(
                        agency: request["agency"], mandatory: request["mandatory"], status: request["status"],
                        outcome: request["outcome"], due: Date(timeIntervalSince1970: request["due"]),
                        answeredAt: (request["answered_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
                }
                return EnquiryOverview(
                    id: id, rag: row["rag"], status: row["status"],
                    openedAt: Date(timeIntervalSince1970: row["opened_at"]),
                    partnersDue: Date(timeIntervalSince1970: row["partners_due"]),
                    decisionDue: Date(timeIntervalSince1970: row["decision_due"]),
                    completedAt: (row["completed_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    breached: row["breached"], requests: requests)
            }
        }
    }

    public func enquiry(id: String, now: Date) throws -> EnquiryOverview? {
        try enquiries(limit: Int.max, now: now).first { $0.id == id }
    }

    /// One moment in an enquiry's life, from the store's own rows.
    public struct TimelineEvent: Sendable, Equatable, Codable {
        public var at: Date
        public var event: String
        public var agency: String?
        public var detail: String
    }

    /// What happened to an enquiry, in order: opened, each message sent for it, each answer, each SLA warning,
    /// breach and chase that fired, the package, and the decision. (A timer stopped early, by an answer or a cancellation,
    /// is marked fired before its moment: that is not an event.)
    public func timeline(enquiryID: String) throws -> [TimelineEvent] {
        try reader.read { db in
            var events: [TimelineEvent] = []
            if let enquiry = try Row.fetchOne(
                db,
                sql: """
                    SELECT opened_at, counted_from, rag, decision_due, decided_at, decision_outcome FROM enquiry
                    WHERE id = ?
                    """, arguments: [enquiryID])
            {
                events.append(
                    TimelineEvent(
                        at: Date(timeIntervalSince1970: enquiry["opened_at"]), event: "opened", agency: nil,
                        detail: "\(enquiry["rag"] as String); clocks counted from "
                            + Instant.format(Date(timeIntervalSince1970: enquiry["counted_from"]))))
                if let decidedAt = enquiry["decided_at"] as Double?,
                    let outcome = enquiry["decision_outcome"] as String?
                {
                    let late = decidedAt > (enquiry["decision_due"] as Double) ? " (after the decision deadline)" : ""
                    events.append(
                        TimelineEvent(
                            at: Date(timeIntervalSince1970: decidedAt), event: "decided", agency: nil,
                            detail: outcome + late))
                }
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT o.created_at, o.published_at, o.type, o.routing_key FROM outbox o
                    WHERE o.headers LIKE ? ORDER BY o.seq
                    """, arguments: ["%\"x-mash-enquiry\":\"\(enquiryID)\"%"])
            {
                let published = (row["published_at"] as Double?).map { _ in "" } ?? " (not yet published)"
                events.append(
                    TimelineEvent(
                        at: Date(timeIntervalSince1970: row["created_at"]), event: "sent", agency: row["routing_key"],
                        detail: "\(row["type"] as String)\(published)"))
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT agency, outcome, answered_at FROM request
                    WHERE enquiry_id = ? AND answered_at IS NOT NULL
                    """, arguments: [enquiryID])
            {
                events.append(
                    TimelineEvent(
                        at: Date(timeIntervalSince1970: row["answered_at"]), event: "answered",
                        agency: row["agency"], detail: row["outcome"] ?? ""))
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT t.fired_at, t.event, t.clock, r.agency FROM timer t LEFT JOIN request r ON r.id = t.request_id
                    WHERE t.enquiry_id = ? AND t.fired_at >= t.due
                    """, arguments: [enquiryID])
            {
                events.append(
                    TimelineEvent(
                        at: Date(timeIntervalSince1970: row["fired_at"]), event: "sla \(row["event"] as String)",
                        agency: row["agency"], detail: "\(row["clock"] as String) clock"))
            }
            return events.sorted { $0.at < $1.at }
        }
    }

    /// The sealed decision package for an enquiry, as it was sent to the decision maker.
    public func decisionPackage(enquiryID: String) throws -> [UInt8]? {
        try reader.read { db in
            let body = try Data.fetchOne(
                db, sql: "SELECT body FROM outbox WHERE type = ? AND headers LIKE ? ORDER BY seq DESC LIMIT 1",
                arguments: [DocumentType.decisionPackage.rawValue, "%\"x-mash-enquiry\":\"\(enquiryID)\"%"])
            return body.map(Array.init)
        }
    }

    /// The age of the oldest message still waiting in a queue that only the hub publishes to, from the hub's
    /// own publish records: queues are first in, first out, so with `ready` messages waiting, the oldest is
    /// the `ready`-th newest the hub published there. Nil when the records do not reach back that far.
    public func oldestWaiting(exchange: String, routingKey: String, ready: Int, now: Date) throws -> TimeInterval? {
        guard ready > 0 else { return nil }
        return try reader.read { db in
            try Double.fetchOne(
                db,
                sql: """
                    SELECT published_at FROM outbox WHERE exchange = ? AND routing_key = ? AND published_at IS NOT NULL
                    ORDER BY published_at DESC, seq DESC LIMIT 1 OFFSET ?
                    """, arguments: [exchange, routingKey, ready - 1]
            ).map { now.timeIntervalSince1970 - $0 }
        }
    }

    /// Unfired timers already past their moment: how many, and how late the latest-firing one is.
    public func overdueTimers(now: Date) throws -> (count: Int, lag: TimeInterval) {
        try reader.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*) AS n, MIN(due) AS oldest FROM timer WHERE fired_at IS NULL AND due <= ?",
                arguments: [now.timeIntervalSince1970])
            let oldest: Double? = row?["oldest"]
            return (row?["n"] ?? 0, oldest.map { now.timeIntervalSince1970 - $0 } ?? 0)
        }
    }
}
