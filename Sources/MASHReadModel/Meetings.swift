import Foundation
import GRDB
import MASHCore
import MASHService

extension HubReadModel {
    /// The open enquiries a MASH meeting may consider: ids, RAG, the soonest running clock, whether every answer
    /// is in, and which agencies answered. Never the child.
    public func agendaEnquiries() throws -> [MeetingAgenda.Enquiry] {
        try reader.read { try Self.agendaEnquiries(in: $0) }
    }

    /// As `agendaEnquiries()`, in the caller's transaction.
    public static func agendaEnquiries(in db: any SQLDatabase) throws -> [MeetingAgenda.Enquiry] {
        do {
            let answered = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.enquiry_id, r.agency FROM request r JOIN enquiry e ON e.id = r.enquiry_id
                    WHERE e.status IN ('awaiting', 'complete') AND r.status = 'answered'
                    """
            ).reduce(into: [String: [String]]()) { $0[$1["enquiry_id"], default: []].append($1["agency"]) }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, rag, status, partners_due, decision_due, unborn FROM enquiry
                    WHERE status IN ('awaiting', 'complete') ORDER BY opened_at
                    """
            ).compactMap { row in
                guard let rag = RAG(rawValue: row["rag"]) else { return nil }
                let complete = row["status"] == EnquiryStatus.complete.rawValue
                let decision: Double = row["decision_due"]
                let due = complete ? decision : min(row["partners_due"] as Double, decision)
                let id: String = row["id"]
                return MeetingAgenda.Enquiry(
                    id: id, rag: rag, due: Date(timeIntervalSince1970: due), answersIn: complete,
                    answeredBy: answered[id] ?? [], unborn: row["unborn"])
            }
        }
    }

    /// What arrived at the hub from `from` until `until`: contacts, enquiries, DANs, missing and found reports.
    /// Ids, kinds and times only.
    public func arrivals(from: Date, until: Date, calendar: WorkingCalendar) throws -> [Arrival] {
        try reader.read { try Self.arrivals(from: from, until: until, calendar: calendar, in: $0) }
    }

    /// As `arrivals(from:until:calendar:)`, in the caller's transaction.
    public static func arrivals(from: Date, until: Date, calendar: WorkingCalendar, in db: any SQLDatabase) throws
        -> [Arrival]
    {
        do {
            let window: StatementArguments = [from.timeIntervalSince1970, until.timeIntervalSince1970]
            var arrivals: [Arrival] = []
            func add(_ kind: Arrival.Kind, _ sql: String) throws {
                for row in try Row.fetchAll(db, sql: sql, arguments: window) {
                    let at = Date(timeIntervalSince1970: row["at"])
                    arrivals.append(
                        Arrival(
                            kind: kind, id: row["id"], at: at, unborn: (row["unborn"] as Bool?) ?? false,
                            outOfHours: !calendar.isOpen(at: at)))
                }
            }
            try add(
                .enquiry, "SELECT id, opened_at AS at, unborn FROM enquiry WHERE opened_at >= ? AND opened_at < ?")
            try add(
                .dan,
                "SELECT id, received_at AS at, unborn FROM dan WHERE received_at >= ? AND received_at < ?")
            if try db.tableExists("contact") {
                try add(
                    .contact, "SELECT id, received_at AS at FROM contact WHERE received_at >= ? AND received_at < ?")
            }
            if try db.tableExists("missing_episode") {
                try add(
                    .missingReport,
                    "SELECT id, reported_at AS at FROM missing_episode WHERE reported_at >= ? AND reported_at < ?")
                try add(
                    .foundReport, "SELECT id, found_at AS at FROM missing_episode WHERE found_at >= ? AND found_at < ?")
            }
            return arrivals.sorted { ($0.at, $0.id) < ($1.at, $1.id) }
        }
    }

    /// A challenge as operators see it: ids, the stage and its clock; never the grounds.
    public struct ChallengeLine: Sendable, Equatable, Encodable {
        public var challengeID: String
        public var enquiryID: String
        public var raisedBy: String
        public var raisedAt: Date
        public var stage: String
        public var stageDue: Date?
        public var resolvedAt: Date?

        public func overdue(at now: Date) -> Bool { stageDue.map { $0 <= now } ?? false }
    }

    /// Every challenge not resolved, and those resolved since `since`, soonest due first.
    public func challenges(resolvedSince since: Date) throws -> [ChallengeLine] {
        try reader.read { db in
            guard try db.tableExists("challenge") else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT id, enquiry_id, raised_by, raised_at, stage, stage_due, resolved_at FROM challenge
                    WHERE resolved_at IS NULL OR resolved_at >= ?
                    ORDER BY stage_due IS NULL, stage_due, raised_at
                    """, arguments: [since.timeIntervalSince1970]
            ).map { row in
                ChallengeLine(
                    challengeID: row["id"], enquiryID: row["enquiry_id"], raisedBy: row["raised_by"],
                    raisedAt: Date(timeIntervalSince1970: row["raised_at"]), stage: row["stage"],
                    stageDue: (row["stage_due"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    resolvedAt: (row["resolved_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    /// The sittings whose list the hub sent since `since` and of which no record has come back, oldest first.
    public func meetingsListedNotRecorded(since: Date) throws -> [String] {
        try reader.read { db in
            guard try db.tableExists("meeting_agenda") else { return [] }
            return try String.fetchAll(
                db,
                sql: """
                    SELECT a.id FROM meeting_agenda a LEFT JOIN meeting m ON m.id = a.id
                    WHERE m.id IS NULL AND a.sent_at >= ? ORDER BY a.sent_at
                    """, arguments: [since.timeIntervalSince1970])
        }
    }

    /// A meeting recorded at the hub: when, who attended and how many items were agreed.
    public struct MeetingLine: Sendable, Equatable, Encodable {
        public var meetingID: String
        public var kind: String
        public var heldAt: Date
        public var attendees: [String]
        public var agencies: [String]
        public var items: Int
    }

    public func meetings(since: Date) throws -> [MeetingLine] {
        try reader.read { db in
            guard try db.tableExists("meeting") else { return [] }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT m.id, m.kind, m.held_at, m.attendees, m.agencies,
                        (SELECT count(*) FROM meeting_item i WHERE i.meeting_id = m.id) AS items
                    FROM meeting m WHERE m.held_at >= ? ORDER BY m.held_at
                    """, arguments: [since.timeIntervalSince1970]
            ).map { row in
                func list(_ column: String) -> [String] {
                    (row[column] as String).split(separator: ",").map(String.init)
                }
                return MeetingLine(
                    meetingID: row["id"], kind: row["kind"], heldAt: Date(timeIntervalSince1970: row["held_at"]),
                    attendees: list("attendees"), agencies: list("agencies"), items: row["items"])
            }
        }
    }
}
