import Foundation
import GRDB
import MASHCore
import MASHService

/// The adapter's durable state in one SQLite file (WAL, synchronous FULL): the requests it has accepted (the
/// request sealed with the adapter's data keyring), the ids of messages it has handled (inbox), and the
/// answers waiting to be published (outbox). A delivery is acked once its request is stored here; the research
/// then runs from this table, so a crash mid-research means researching again, never losing the request.
final class AdapterStore: Sendable {
    let queue: DatabasePool

    init(path: String) throws {
        queue = try DurableStore.open(at: path)
        try Self.migrator.migrate(queue)
    }

    static var migrator: DatabaseMigrator {
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
        return migrator
    }

    struct Job: Sendable {
        var id: String
        var body: [UInt8]
        var attempts: Int
    }

    /// Stores a request with the id of the message that brought it; false if the message was handled before.
    func accept(
        messageID: String, requestID: String, enquiryID: String, dueBy: Date, sealedBody: [UInt8], now: Date
    ) throws -> Bool {
        try queue.write { db in
            guard try remember(db, messageID, now) else { return false }
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO request (id, enquiry_id, message_id, due_by, received_at, status, body)
                    VALUES (?, ?, ?, ?, ?, 'pending', ?)
                    """,
                arguments: [
                    requestID, enquiryID, messageID, dueBy.timeIntervalSince1970, now.timeIntervalSince1970,
                    Data(sealedBody),
                ])
            return true
        }
    }

    /// Marks a pending request cancelled (the hub no longer needs it); false if it was not pending.
    func cancel(messageID: String, requestID: String, now: Date) throws -> Bool {
        try queue.write { db in
            guard try remember(db, messageID, now) else { return false }
            try db.execute(
                sql: "UPDATE request SET status = 'cancelled', answered_at = ? WHERE id = ? AND status = 'pending'",
                arguments: [now.timeIntervalSince1970, requestID])
            return db.changesCount == 1
        }
    }

    func remember(messageID: String, now: Date) throws -> Bool {
        try queue.write { try remember($0, messageID, now) }
    }

    private func remember(_ db: Database, _ messageID: String, _ now: Date) throws -> Bool {
        try db.execute(
            sql: "INSERT OR IGNORE INTO inbox (message_id, received_at) VALUES (?, ?)",
            arguments: [messageID, now.timeIntervalSince1970])
        return db.changesCount == 1
    }

    /// The pending request due soonest that is not already being researched and is not waiting for a retry.
    func nextJob(excluding busy: Set<String>, now: Date) throws -> Job? {
        try queue.read { db in
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

    func retryLater(_ id: String, attempts: Int, at: Date) throws {
        try queue.write { db in
            try db.execute(
                sql: "UPDATE request SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                arguments: [attempts, at.timeIntervalSince1970, id])
        }
    }

    /// Marks the request answered and stores the answer for publishing, in one transaction; false (and nothing
    /// stored) if the request is no longer pending (cancelled while it was researched).
    func answer(_ id: String, outcome: ResearchOutcome, message: OutboxMessage, now: Date) throws -> Bool {
        try queue.write { db in
            try db.execute(
                sql:
                    "UPDATE request SET status = 'answered', outcome = ?, answered_at = ? WHERE id = ? AND status = 'pending'",
                arguments: [outcome.rawValue, now.timeIntervalSince1970, id])
            guard db.changesCount == 1 else { return false }
            try enqueue(db, message, now: now)
            return true
        }
    }

    func enqueue(_ db: Database, _ message: OutboxMessage, now: Date) throws {
        try db.execute(
            sql: """
                INSERT INTO outbox (message_id, request_id, type, headers, body, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                message.messageID, message.requestID, message.type,
                String(decoding: DocumentWriter.encode(message.headers), as: UTF8.self), Data(message.body),
                now.timeIntervalSince1970,
            ])
    }

    func pendingOutbox(createdBefore cutoff: Date?) throws -> [OutboxMessage] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT message_id, request_id, type, headers, body FROM outbox
                    WHERE published_at IS NULL AND created_at < ? ORDER BY seq LIMIT 200
                    """, arguments: [(cutoff ?? .distantFuture).timeIntervalSince1970]
            ).map { row in
                let headersJSON: String = row["headers"]
                let headers =
                    (try? JSONSerialization.jsonObject(with: Data(headersJSON.utf8))) as? [String: String] ?? [:]
                let body: Data = row["body"]
                return OutboxMessage(
                    messageID: row["message_id"], requestID: row["request_id"], type: row["type"], headers: headers,
                    body: Array(body))
            }
        }
    }

    func markPublished(_ messageIDs: [String], at now: Date) throws {
        guard !messageIDs.isEmpty else { return }
        try queue.write { db in
            for id in messageIDs {
                try db.execute(
                    sql: "UPDATE outbox SET published_at = ? WHERE message_id = ?",
                    arguments: [now.timeIntervalSince1970, id])
            }
        }
    }

    struct Summary: Sendable, Equatable {
        var pending: Int
        var atRisk: Int
        var lastAnsweredAt: Date?
    }

    /// Pending requests, those past the agency's own target (`dueBy - margin`), and the last answer's time.
    func summary(now: Date, margin: TimeInterval) throws -> Summary {
        try queue.read { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request WHERE status = 'pending'") ?? 0
            let atRisk =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM request WHERE status = 'pending' AND due_by - ? <= ?",
                    arguments: [margin, now.timeIntervalSince1970]) ?? 0
            let last = try Double.fetchOne(db, sql: "SELECT MAX(answered_at) FROM request WHERE status = 'answered'")
            return Summary(
                pending: pending, atRisk: atRisk, lastAnsweredAt: last.map(Date.init(timeIntervalSince1970:)))
        }
    }

    func outboxBacklog() throws -> Int {
        try queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") ?? 0 }
    }

    /// Requests by status, for tests and operators.
    func counts() throws -> [String: Int] {
        try queue.read { db in
            var result: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM request GROUP BY status") {
                result[row["status"]] = row["n"]
            }
            return result
        }
    }
}

/// An answer (or heartbeat) waiting to be published, exactly as it will go.
struct OutboxMessage: Sendable {
    var messageID: String
    var requestID: String?
    var type: String
    var headers: [String: String]
    var body: [UInt8]
}
