import Foundation
import GRDB
import MASHAgency
import MASHCore
import MASHRuntime
import MASHService

/// Where an item stands on a desk.
public enum ItemStatus: String, Sendable {
    /// Not yet opened by anyone.
    case new
    /// Opened, not yet dealt with.
    case seen
    /// Decided or acknowledged (by `actedBy`, at `actedAt`).
    case done
}

/// An item as the inbox lists it (the sealed parts still sealed).
struct StoredItem: Sendable {
    var id: String
    var type: String
    var receivedAt: Date
    var dueAt: Date?
    var status: ItemStatus
    var summary: [UInt8]
    var body: [UInt8]
    var actedBy: String?
    var actedAt: Date?
    var action: String?
    /// The outcome chosen (a decision's or a triage's code), when the action chose one.
    var result: String?
    /// The hub's correction restricting the item: it is not shown until the restriction is lifted.
    var restrictedBy: String?
}

/// A document a member of staff sent from one of the desk's forms.
struct SentRecord: Sendable {
    var id: String
    var type: String
    var reference: String
    var staffID: String
    var sentAt: Date
    /// Sealed under the record's own key (scope `sent:<id>`).
    var body: [UInt8]
    /// When the broker confirmed the hub's intake has it (nil: still in the desk's outbox).
    var deliveredAt: Date?
}

/// A signed-in member of staff, as the session table knows them.
struct StaffSession: Sendable {
    var staffID: String
    var csrf: String
}

/// The desk's durable state in one SQLite file (WAL, synchronous FULL): the items taken from the party's queue
/// (the document sealed with the desk's data-at-rest key), the inbox of handled message ids, the outbox of
/// actions for the hub, the sessions of signed-in staff (only a hash of each cookie) and failed sign-ins.
final class DeskStore: Sendable {
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
                    CREATE TABLE item (
                        id TEXT PRIMARY KEY,         -- the message id
                        type TEXT NOT NULL,          -- the document type
                        received_at REAL NOT NULL,
                        due_at REAL,
                        status TEXT NOT NULL,        -- ItemStatus
                        summary BLOB NOT NULL,       -- what the inbox shows, sealed
                        body BLOB NOT NULL,          -- the document, sealed
                        acted_by TEXT,
                        acted_at REAL,
                        action TEXT
                    );
                    CREATE INDEX item_due ON item (status, due_at);
                    CREATE TABLE session (
                        token_hash TEXT PRIMARY KEY,
                        staff_id TEXT NOT NULL,
                        csrf TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        last_seen REAL NOT NULL,
                        ended_at REAL
                    );
                    CREATE TABLE sign_in_failure (
                        staff_id TEXT PRIMARY KEY,
                        failures INTEGER NOT NULL,
                        locked_until REAL
                    );
                    """)
            try db.execute(sql: Inbox.schema)
            try db.execute(sql: Outbox.schema)
        }
        migrator.registerMigration("v2: what was chosen") { db in
            // The code chosen with the action: a DecisionOutcome or a TriageDecision; never free text.
            try db.execute(sql: "ALTER TABLE item ADD COLUMN result TEXT")
        }
        migrator.registerMigration("v3: corrections") { db in
            try db.execute(
                sql: """
                    -- The hub's correction that restricts this item (NULL: not restricted): not shown until lifted.
                    ALTER TABLE item ADD COLUMN restricted_by TEXT;
                    -- What the hub said was corrected in an item, or marked incorrect (sealed under the item's key).
                    CREATE TABLE item_note (
                        item_id TEXT NOT NULL REFERENCES item(id),
                        correction_id TEXT NOT NULL,
                        at REAL NOT NULL,
                        note BLOB NOT NULL,
                        PRIMARY KEY (item_id, correction_id)
                    );
                    """)
        }
        migrator.registerMigration("v4: what staff sent") { db in
            try db.execute(
                sql: """
                    -- What the desk's own staff sent the hub from a form (a portal's contacts, the SPA's
                    -- consultations): the document sealed under its own key, and who sent it.
                    CREATE TABLE sent (
                        id TEXT PRIMARY KEY,          -- the document's own id
                        type TEXT NOT NULL,           -- the document type
                        reference TEXT NOT NULL,      -- what the sender quotes (MC-..., NNC-...)
                        staff_id TEXT NOT NULL,       -- on a portal, the only one who sees it
                        sent_at REAL NOT NULL,
                        message_id TEXT NOT NULL,     -- the outbox message that carries it
                        body BLOB NOT NULL
                    );
                    CREATE INDEX sent_by ON sent (staff_id, type, sent_at);
                    """)
        }
        return migrator
    }

    /// Keeps what a member of staff sent, in the transaction that puts it in the outbox; false if a document
    /// with this id was sent before (a form submitted twice).
    func recordSent(
        _ db: any SQLDatabase, id: String, type: String, reference: String, staffID: String, at: Date,
        messageID: String,
        body: [UInt8]
    ) throws -> Bool {
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO sent (id, type, reference, staff_id, sent_at, message_id, body)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [id, type, reference, staffID, at.timeIntervalSince1970, messageID, Data(body)])
        return db.changesCount == 1
    }

    /// What was sent, of one type, by one member of staff (nil: by anyone), the latest first, with when the
    /// broker confirmed it reached the hub's intake.
    func sent(type: String, by staffID: String?) async throws -> [SentRecord] {
        try await queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sent.*, outbox.published_at FROM sent LEFT JOIN outbox USING (message_id)
                    WHERE sent.type = ? AND (? IS NULL OR sent.staff_id = ?) ORDER BY sent.sent_at DESC
                    """, arguments: [type, staffID, staffID]
            ).map(Self.sent)
        }
    }

    /// Who on this desk raised the challenge `id`, and the contact it was about (its `reference`); nil when it was
    /// not raised here.
    func sender(ofChallenge id: String, _ db: any SQLDatabase) throws -> (staffID: String, contactID: String?)? {
        try Row.fetchOne(
            db, sql: "SELECT staff_id, reference FROM sent WHERE id = ? AND type = ?",
            arguments: [id, DocumentType.challenge.rawValue]
        ).map { ($0["staff_id"], $0["reference"]) }
    }

    func sentRecord(_ id: String) async throws -> SentRecord? {
        try await queue.read { db in
            try Row.fetchOne(
                db,
                sql:
                    "SELECT sent.*, outbox.published_at FROM sent LEFT JOIN outbox USING (message_id) WHERE sent.id = ?",
                arguments: [id]
            ).map(Self.sent)
        }
    }

    private static func sent(_ row: Row) -> SentRecord {
        SentRecord(
            id: row["id"], type: row["type"], reference: row["reference"], staffID: row["staff_id"],
            sentAt: Date(timeIntervalSince1970: row["sent_at"]), body: Array(row["body"] as Data),
            deliveredAt: (row["published_at"] as Double?).map { Date(timeIntervalSince1970: $0) })
    }

    /// Stores an item, in the pump's transaction; false if it was stored before.
    func accept(
        _ db: any SQLDatabase, id: String, type: String, dueAt: Date?, summary: [UInt8], body: [UInt8], now: Date
    ) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT OR IGNORE INTO item (id, type, received_at, due_at, status, summary, body)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, type, now.timeIntervalSince1970, dueAt?.timeIntervalSince1970, ItemStatus.new.rawValue,
                Data(summary), Data(body),
            ])
        return db.changesCount == 1
    }

    private static func item(_ row: Row) -> StoredItem {
        StoredItem(
            id: row["id"], type: row["type"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
            dueAt: (row["due_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
            status: ItemStatus(rawValue: row["status"]) ?? .new, summary: Array(row["summary"] as Data),
            body: Array(row["body"] as Data), actedBy: row["acted_by"],
            actedAt: (row["acted_at"] as Double?).map { Date(timeIntervalSince1970: $0) }, action: row["action"],
            result: row["result"], restrictedBy: row["restricted_by"])
    }

    /// Every item: those still to deal with first, the soonest due first; then those done, the latest first.
    func items() async throws -> [StoredItem] {
        try await queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM item
                    ORDER BY status = 'done', CASE WHEN status = 'done' THEN -acted_at ELSE due_at IS NULL END,
                        due_at, received_at
                    """
            ).map(Self.item)
        }
    }

    /// Items nobody has opened yet (for the heartbeat: counts only).
    func unopenedCount() async throws -> Int {
        try await queue.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM item WHERE status = ?", arguments: [ItemStatus.new.rawValue]) ?? 0
        }
    }

    func item(_ id: String) async throws -> StoredItem? {
        try await queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM item WHERE id = ?", arguments: [id]).map(Self.item)
        }
    }

    func markSeen(_ id: String) async throws {
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE item SET status = ? WHERE id = ? AND status = ?",
                arguments: [ItemStatus.seen.rawValue, id, ItemStatus.new.rawValue])
        }
    }

    /// Marks an item done by `staffID`, in the caller's transaction; false if it was done already (a second
    /// submission of the same form then has no effect).
    func markDone(
        _ db: any SQLDatabase, _ id: String, action: DeskAction, result: String?, by staffID: String, at now: Date
    ) throws -> Bool {
        try db.execute(
            sql: """
                UPDATE item SET status = ?, acted_by = ?, acted_at = ?, action = ?, result = ? WHERE id = ? AND status != ?
                """,
            arguments: [
                ItemStatus.done.rawValue, staffID, now.timeIntervalSince1970, action.rawValue, result, id,
                ItemStatus.done.rawValue,
            ])
        return db.changesCount == 1
    }

    // MARK: sessions

    func startSession(tokenHash: String, staffID: String, csrf: String, now: Date) async throws {
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO session (token_hash, staff_id, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [tokenHash, staffID, csrf, now.timeIntervalSince1970, now.timeIntervalSince1970])
            try db.execute(sql: "DELETE FROM sign_in_failure WHERE staff_id = ?", arguments: [staffID])
        }
    }

    /// The live session a cookie names, touching it; nil if unknown, ended or idle longer than `idle`.
    func session(tokenHash: String, idle: TimeInterval, now: Date) async throws -> StaffSession? {
        try await queue.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT staff_id, csrf, last_seen, ended_at FROM session WHERE token_hash = ?",
                    arguments: [tokenHash]),
                (row["ended_at"] as Double?) == nil
            else { return nil }
            guard now.timeIntervalSince1970 - (row["last_seen"] as Double) <= idle else {
                try db.execute(
                    sql: "UPDATE session SET ended_at = ? WHERE token_hash = ?",
                    arguments: [now.timeIntervalSince1970, tokenHash])
                return nil
            }
            try db.execute(
                sql: "UPDATE session SET last_seen = ? WHERE token_hash = ?",
                arguments: [now.timeIntervalSince1970, tokenHash])
            return StaffSession(staffID: row["staff_id"], csrf: row["csrf"])
        }
    }

    func endSession(tokenHash: String, now: Date) async throws {
        try await queue.write { db in
            try db.execute(
                sql: "UPDATE session SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                arguments: [now.timeIntervalSince1970, tokenHash])
        }
    }

    /// When the account is locked until, if it is.
    func lockedUntil(_ staffID: String, now: Date) async throws -> Date? {
        try await queue.read { db in
            try Double.fetchOne(
                db, sql: "SELECT locked_until FROM sign_in_failure WHERE staff_id = ? AND locked_until > ?",
                arguments: [staffID, now.timeIntervalSince1970]
            ).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Counts a failed sign-in; after `limit` in a row the account is locked for `lockFor` (the count restarts).
    /// Returns when it is locked until, if this failure locked it.
    func recordFailure(_ staffID: String, limit: Int, lockFor: TimeInterval, now: Date) async throws -> Date? {
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sign_in_failure (staff_id, failures) VALUES (?, 1)
                    ON CONFLICT (staff_id) DO UPDATE SET failures = failures + 1
                    """, arguments: [staffID])
            let failures =
                try Int.fetchOne(
                    db, sql: "SELECT failures FROM sign_in_failure WHERE staff_id = ?", arguments: [staffID]) ?? 0
            guard failures >= limit else { return nil }
            let until = now.addingTimeInterval(lockFor)
            try db.execute(
                sql: "UPDATE sign_in_failure SET failures = 0, locked_until = ? WHERE staff_id = ?",
                arguments: [until.timeIntervalSince1970, staffID])
            return until
        }
    }
}
