import Foundation
import GRDB
import MASHAgency
import MASHCore
import MASHProtocol
import MASHRuntime
import MASHService

/// The adapter's durable state in one SQLite file (WAL, synchronous FULL): the requests it has accepted (the
/// request sealed with the adapter's data keyring), the ids of messages it has handled (inbox), and the
/// answers waiting to be published (outbox). A delivery is acked once its request is stored here; the research
/// then runs from this table, so a crash mid-research means researching again, never losing the request.
final class AdapterStore: Sendable {
    let queue: DatabasePool

    /// `agency` routes the answers an older store's outbox still holds (they had no routing key of their own).
    init(path: String, agency: String) throws {
        queue = try DurableStore.open(at: path)
        try Self.migrator(agency: agency).migrate(queue)
    }

    static func migrator(agency: String) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE request (
                        id TEXT PRIMARY KEY,
                        enquiry_id TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        due_by REAL NOT NULL,
                        received_at REAL NOT NULL,
                        status TEXT NOT NULL,              -- pending, answered, cancelled
                        body BLOB NOT NULL,                -- the request JSON, sealed with the data keyring
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL DEFAULT 0,
                        outcome TEXT,
                        answered_at REAL
                    );
                    CREATE INDEX request_pending ON request (status, due_by);
                    CREATE TABLE inbox (message_id TEXT PRIMARY KEY, received_at REAL NOT NULL);
                    CREATE TABLE outbox (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        message_id TEXT NOT NULL UNIQUE,
                        request_id TEXT,
                        type TEXT NOT NULL,
                        headers TEXT NOT NULL,
                        body BLOB NOT NULL,
                        created_at REAL NOT NULL,
                        published_at REAL
                    );
                    """)
        }
        migrator.registerMigration("v2: the runtime's outbox and inbox") { db in
            try db.execute(sql: "ALTER TABLE outbox RENAME TO outbox_v1")
            try db.execute(sql: Outbox.schema)
            try db.execute(
                sql: """
                    INSERT INTO outbox (seq, message_id, exchange, routing_key, type, headers, body, created_at,
                        published_at)
                    SELECT seq, message_id, ?, ?, type, headers, body, created_at, published_at FROM outbox_v1
                    """, arguments: [HubQueues.responsesExchange, agency])
            try db.execute(sql: "DROP TABLE outbox_v1")
            try db.execute(sql: "ALTER TABLE inbox ADD COLUMN queue TEXT NOT NULL DEFAULT ''")
            try db.execute(sql: "ALTER TABLE inbox ADD COLUMN outcome TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v3: enquiry outcomes") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outcome (
                        request_id TEXT PRIMARY KEY REFERENCES request(id),
                        message_id TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        status TEXT NOT NULL,              -- OutcomeStatus
                        body BLOB NOT NULL,                -- the mash.outcome/1 JSON, sealed with the data keyring
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL DEFAULT 0,
                        passed_at REAL
                    );
                    CREATE INDEX outcome_waiting ON outcome (status, next_attempt_at);
                    """)
        }
        migrator.registerMigration("v4: corrections") { db in
            try db.execute(
                sql: """
                    -- The hub's correction that restricts this request's copy (NULL: not restricted).
                    ALTER TABLE request ADD COLUMN restricted_by TEXT;
                    -- People whose data the hub asked to be erased or restricted: no research answers about them.
                    CREATE TABLE suppression (
                        ref TEXT NOT NULL,                 -- keyed with this adapter's data key, never the person
                        action TEXT NOT NULL,              -- CorrectionAction: erase or restrict
                        correction_id TEXT NOT NULL,
                        since REAL NOT NULL,
                        PRIMARY KEY (ref, action)
                    );
                    -- Opinions in a request the hub marked incorrect (the note sealed under the request's key).
                    CREATE TABLE opinion_mark (
                        request_id TEXT NOT NULL REFERENCES request(id),
                        correction_id TEXT NOT NULL,
                        at REAL NOT NULL,
                        note BLOB NOT NULL,
                        PRIMARY KEY (request_id, correction_id)
                    );
                    """)
        }
        return migrator
    }

    struct Job: Sendable {
        var id: String
        var body: [UInt8]
        var attempts: Int
    }

    /// Stores a request, in the pump's transaction; false if it was stored before (by another message).
    func accept(
        _ db: Database, messageID: String, requestID: String, enquiryID: String, dueBy: Date, sealedBody: [UInt8],
        now: Date
    ) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT OR IGNORE INTO request (id, enquiry_id, message_id, due_by, received_at, status, body)
                VALUES (?, ?, ?, ?, ?, 'pending', ?)
                """,
            arguments: [
                requestID, enquiryID, messageID, dueBy.timeIntervalSince1970, now.timeIntervalSince1970,
                Data(sealedBody),
            ])
        return db.changesCount == 1
    }

    /// Marks a pending request cancelled (the hub no longer needs it); false if it was not pending.
    func cancel(_ db: Database, requestID: String, now: Date) throws -> Bool {
        try db.executeCached(
            sql: "UPDATE request SET status = 'cancelled', answered_at = ? WHERE id = ? AND status = 'pending'",
            arguments: [now.timeIntervalSince1970, requestID])
        return db.changesCount == 1
    }

    /// The pending request due soonest that is not already being researched and is not waiting for a retry.
    func nextJob(excluding busy: Set<String>, now: Date) async throws -> Job? {
        try await queue.read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, body, attempts FROM request WHERE status = 'pending' AND next_attempt_at <= ?
                    ORDER BY due_by, received_at
                    """, arguments: [now.timeIntervalSince1970])
            while let row = try rows.next() {
                let id: String = row["id"]
                if busy.contains(id) { continue }
                let body: Data = row["body"]
                return Job(id: id, body: Array(body), attempts: row["attempts"])
            }
            return nil
        }
    }

    func retryLater(_ id: String, attempts: Int, at: Date) async throws {
        try await queue.write { db in
            try db.executeCached(
                sql: "UPDATE request SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                arguments: [attempts, at.timeIntervalSince1970, id])
        }
    }

    /// Marks the request answered, in the transaction that puts the answer in the outbox; false (and the
    /// answer not to be stored) if the request is no longer pending (cancelled while it was researched).
    func answer(_ db: Database, _ id: String, outcome: ResearchOutcome, now: Date) throws -> Bool {
        try db.executeCached(
            sql:
                "UPDATE request SET status = 'answered', outcome = ?, answered_at = ? WHERE id = ? AND status = 'pending'",
            arguments: [outcome.rawValue, now.timeIntervalSince1970, id])
        return db.changesCount == 1
    }

    // MARK: outcomes

    /// Where an enquiry's outcome stands at the adapter.
    enum OutcomeStatus: String, Sendable {
        /// Stored; this agency's configuration passes outcomes nowhere.
        case kept
        /// Stored, and still to be taken by the agency's own system.
        case waiting
        /// Taken by the agency's own system.
        case passed
    }

    /// The enquiry a request held here belongs to; nil for a request this adapter never received.
    func enquiry(ofRequest id: String, _ db: Database) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT enquiry_id FROM request WHERE id = ?"), arguments: [id])
    }

    /// Stores an outcome, in the pump's transaction; false if one was stored for the request before.
    func keepOutcome(
        _ db: Database, requestID: String, messageID: String, status: OutcomeStatus, sealedBody: [UInt8], now: Date
    ) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT OR IGNORE INTO outcome (request_id, message_id, received_at, status, body)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [requestID, messageID, now.timeIntervalSince1970, status.rawValue, Data(sealedBody)])
        return db.changesCount == 1
    }

    /// The outcome waiting longest whose next try is due.
    func nextOutcome(now: Date) async throws -> Job? {
        try await queue.read { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT request_id, body, attempts FROM outcome WHERE status = ? AND next_attempt_at <= ?
                        ORDER BY received_at LIMIT 1
                        """),
                arguments: [OutcomeStatus.waiting.rawValue, now.timeIntervalSince1970]
            ).map { row in
                let body: Data = row["body"]
                return Job(id: row["request_id"], body: Array(body), attempts: row["attempts"])
            }
        }
    }

    /// When the next waiting outcome is due to be tried; nil when none waits.
    func nextOutcomeAttempt() async throws -> Date? {
        try await queue.read { db in
            try Double.fetchOne(
                db.cachedStatement(sql: "SELECT MIN(next_attempt_at) FROM outcome WHERE status = ?"),
                arguments: [OutcomeStatus.waiting.rawValue]
            ).map(Date.init(timeIntervalSince1970:))
        }
    }

    func outcomePassed(_ requestID: String, now: Date) async throws {
        try await queue.write { db in
            try db.executeCached(
                sql: "UPDATE outcome SET status = ?, passed_at = ? WHERE request_id = ?",
                arguments: [OutcomeStatus.passed.rawValue, now.timeIntervalSince1970, requestID])
        }
    }

    func retryOutcome(_ requestID: String, attempts: Int, at: Date) async throws {
        try await queue.write { db in
            try db.executeCached(
                sql: "UPDATE outcome SET attempts = ?, next_attempt_at = ? WHERE request_id = ?",
                arguments: [attempts, at.timeIntervalSince1970, requestID])
        }
    }

    struct Summary: Sendable, Equatable {
        var pending: Int
        var atRisk: Int
        var lastAnsweredAt: Date?
    }

    /// Pending requests, those past the agency's own target (`dueBy - margin`), and the last answer's time.
    func summary(now: Date, margin: TimeInterval) async throws -> Summary {
        try await queue.read { db in
            let pending =
                try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM request WHERE status = 'pending'")) ?? 0
            let atRisk =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT COUNT(*) FROM request WHERE status = 'pending' AND due_by - ? <= ?"),
                    arguments: [margin, now.timeIntervalSince1970]) ?? 0
            let last = try Double.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(answered_at) FROM request WHERE status = 'answered'"))
            return Summary(
                pending: pending, atRisk: atRisk, lastAnsweredAt: last.map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// The rows of `table` (`request` or `outcome`) by status, for `/metrics`, tests and operators.
    func counts(of table: String = "request") throws -> [String: Int] {
        precondition(["request", "outcome"].contains(table))
        return try queue.read { db in
            var result: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM \(table) GROUP BY status") {
                result[row["status"]] = row["n"]
            }
            return result
        }
    }
}
