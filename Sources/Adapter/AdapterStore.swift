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
        migrator.registerMigration("v5: challenges to decisions") { db in
            try db.execute(
                sql: """
                    -- Challenges this agency raised to the MASH's decision on an enquiry it answered.
                    CREATE TABLE challenge (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL REFERENCES request(id),  -- its key seals the challenge
                        enquiry_id TEXT NOT NULL,
                        raised_by TEXT NOT NULL,           -- the member of staff's id
                        raised_at REAL NOT NULL,
                        stage TEXT NOT NULL,               -- ChallengeStage, the last the hub told
                        body BLOB NOT NULL                 -- the mash.challenge/1 JSON, sealed
                    );
                    -- Each stage the hub told, kept sealed and passed on like an outcome.
                    CREATE TABLE challenge_stage (
                        id TEXT PRIMARY KEY,               -- the stage record's id
                        challenge_id TEXT NOT NULL REFERENCES challenge(id),
                        request_id TEXT NOT NULL REFERENCES request(id),
                        message_id TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        stage TEXT NOT NULL,               -- ChallengeStage
                        status TEXT NOT NULL,              -- OutcomeStatus
                        body BLOB NOT NULL,                -- the mash.challenge-stage/1 JSON, sealed
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at REAL NOT NULL DEFAULT 0,
                        passed_at REAL
                    );
                    CREATE INDEX challenge_stage_waiting ON challenge_stage (status, next_attempt_at);
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
        _ db: any SQLDatabase, messageID: String, requestID: String, enquiryID: String, dueBy: Date,
        sealedBody: [UInt8],
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
    func cancel(_ db: any SQLDatabase, requestID: String, now: Date) throws -> Bool {
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
    func answer(_ db: any SQLDatabase, _ id: String, outcome: ResearchOutcome, now: Date) throws -> Bool {
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
    func enquiry(ofRequest id: String, _ db: any SQLDatabase) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT enquiry_id FROM request WHERE id = ?"), arguments: [id])
    }

    /// Stores an outcome, in the pump's transaction; false if one was stored for the request before.
    func keepOutcome(
        _ db: any SQLDatabase, requestID: String, messageID: String, status: OutcomeStatus, sealedBody: [UInt8],
        now: Date
    ) throws -> Bool {
        try db.executeCached(
            sql: """
                INSERT OR IGNORE INTO outcome (request_id, message_id, received_at, status, body)
                VALUES (?, ?, ?, ?, ?)
                """,
            arguments: [requestID, messageID, now.timeIntervalSince1970, status.rawValue, Data(sealedBody)])
        return db.changesCount == 1
    }

    /// What the adapter passes to the agency's own system: enquiries' outcomes, and the stages of challenges it
    /// raised. Both wait in their table until the system takes them.
    enum Passed: String, Sendable, CaseIterable {
        case outcome
        case stage

        var table: String { self == .outcome ? "outcome" : "challenge_stage" }
        var key: String { self == .outcome ? "request_id" : "id" }
    }

    struct PassJob: Sendable {
        var kind: Passed
        var id: String
        var requestID: String
        var body: [UInt8]
        var attempts: Int

        /// The key scope and context that sealed its body.
        var scope: String { "request:\(requestID)" }
        var context: [UInt8] { Array((kind == .outcome ? "outcome:\(requestID)" : "challenge-stage:\(id)").utf8) }
    }

    /// What has waited longest, of outcomes and challenge stages, whose next try is due.
    func nextToPass(now: Date) async throws -> PassJob? {
        try await queue.read { db in
            try Passed.allCases.compactMap { kind in
                try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT \(kind.key) AS id, request_id, body, attempts, received_at FROM \(kind.table)
                            WHERE status = ? AND next_attempt_at <= ? ORDER BY received_at LIMIT 1
                            """),
                    arguments: [OutcomeStatus.waiting.rawValue, now.timeIntervalSince1970]
                ).map { row -> (Double, PassJob) in
                    let body: Data = row["body"]
                    return (
                        row["received_at"],
                        PassJob(
                            kind: kind, id: row["id"], requestID: row["request_id"], body: Array(body),
                            attempts: row["attempts"])
                    )
                }
            }.min { $0.0 < $1.0 }?.1
        }
    }

    /// When the next waiting outcome or stage is due to be tried; nil when none waits.
    func nextPassAttempt() async throws -> Date? {
        try await queue.read { db in
            try Passed.allCases.compactMap { kind in
                try Double.fetchOne(
                    db.cachedStatement(sql: "SELECT MIN(next_attempt_at) FROM \(kind.table) WHERE status = ?"),
                    arguments: [OutcomeStatus.waiting.rawValue])
            }.min().map(Date.init(timeIntervalSince1970:))
        }
    }

    func passed(_ job: PassJob, now: Date) async throws {
        try await queue.write { db in
            try db.executeCached(
                sql: "UPDATE \(job.kind.table) SET status = ?, passed_at = ? WHERE \(job.kind.key) = ?",
                arguments: [OutcomeStatus.passed.rawValue, now.timeIntervalSince1970, job.id])
        }
    }

    func retry(_ job: PassJob, attempts: Int, at: Date) async throws {
        try await queue.write { db in
            try db.executeCached(
                sql: "UPDATE \(job.kind.table) SET attempts = ?, next_attempt_at = ? WHERE \(job.kind.key) = ?",
                arguments: [attempts, at.timeIntervalSince1970, job.id])
        }
    }

    // MARK: challenges

    /// This agency's request of `enquiryID` and whether the hub has sent the enquiry's outcome (its decision).
    func requestOfEnquiry(_ enquiryID: String, _ db: any SQLDatabase) throws -> (id: String, decided: Bool)? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT r.id, o.request_id IS NOT NULL AS decided FROM request r
                LEFT JOIN outcome o ON o.request_id = r.id WHERE r.enquiry_id = ? ORDER BY decided DESC LIMIT 1
                """, arguments: [enquiryID]
        ).map { ($0["id"], $0["decided"]) }
    }

    /// Keeps a stage of a challenge this agency raised, in the pump's transaction; nil when it raised no such
    /// challenge, false when the stage was kept before.
    func keepStage(
        _ db: any SQLDatabase, _ record: ChallengeStageRecord, messageID: String, status: OutcomeStatus,
        seal: (_ requestID: String) throws -> [UInt8], now: Date
    ) throws -> Bool? {
        guard
            let requestID = try String.fetchOne(
                db, sql: "SELECT request_id FROM challenge WHERE id = ?", arguments: [record.challengeID])
        else { return nil }
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO challenge_stage (id, challenge_id, request_id, message_id, received_at, stage,
                    status, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                record.id, record.challengeID, requestID, messageID, now.timeIntervalSince1970, record.stage.rawValue,
                status.rawValue, Data(try seal(requestID)),
            ])
        guard db.changesCount == 1 else { return false }
        try db.execute(
            sql: "UPDATE challenge SET stage = ? WHERE id = ?", arguments: [record.stage.rawValue, record.challengeID])
        return true
    }

    struct RaisedChallenge: Sendable, Equatable, Encodable {
        var challengeID: String
        var enquiryID: String
        var raisedBy: String
        var raisedAt: Date
        var stage: String
        var stages: Int
    }

    /// The challenges this agency raised, the newest first: ids, who, when, the last stage told. Never the grounds.
    func challenges() throws -> [RaisedChallenge] {
        try queue.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.id, c.enquiry_id, c.raised_by, c.raised_at, c.stage,
                        (SELECT count(*) FROM challenge_stage s WHERE s.challenge_id = c.id) AS stages
                    FROM challenge c ORDER BY c.raised_at DESC
                    """
            ).map {
                RaisedChallenge(
                    challengeID: $0["id"], enquiryID: $0["enquiry_id"], raisedBy: $0["raised_by"],
                    raisedAt: Date(timeIntervalSince1970: $0["raised_at"]), stage: $0["stage"], stages: $0["stages"])
            }
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
        precondition(["request", "outcome", "challenge_stage"].contains(table))
        return try queue.read { db in
            var result: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM \(table) GROUP BY status") {
                result[row["status"]] = row["n"]
            }
            return result
        }
    }
}
