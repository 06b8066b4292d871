import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHPostgres
import MASHReadModel
import MASHRuntime
import MASHService

/// The coordinator's durable state in one SQLite file (WAL): enquiries and their requests with their
/// deadlines, timers, the outbox and inbox, and the record of sharing. Personal data (the enquiry and each
/// response) arrives here already sealed with the coordinator's data keyring; everything else is ids, times
/// and codes.
public final class CoordinatorStore: Sendable {
    /// The SQLite file, or the PostgreSQL connection string (no password in it).
    public let path: String
    public let sql: any SQLStore

    /// The embedded store: one SQLite file, made on first start.
    public init(path: String) throws {
        self.path = path
        let pool = try DurableStore.open(at: path)
        try Self.migrator.migrate(pool)
        sql = SQLiteStore(pool)
    }

    /// The store on PostgreSQL (a primary with a synchronous standby): migrated on open, under an advisory lock
    /// so two coordinators starting together do not both migrate.
    public init(postgres: PostgresStore) throws {
        path = postgres.conninfo
        try postgres.migrate(Self.migrations)
        sql = postgres
    }

    /// What operators and metrics read, over this store's connections.
    public var readModel: HubReadModel { HubReadModel(sql) }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (identifier, migration) in migrations {
            migrator.registerMigration(identifier) { try migration($0) }
        }
        return migrator
    }

    /// The store's migrations, in order, written once for both engines: GRDB's migrator runs them on SQLite,
    /// `PostgresStore.migrate` on PostgreSQL (with the DDL translated).
    public static var migrations: [(String, @Sendable (any SQLDatabase) throws -> Void)] {
        var migrations: [(String, @Sendable (any SQLDatabase) throws -> Void)] = []
        func register(_ identifier: String, _ migration: @escaping @Sendable (any SQLDatabase) throws -> Void) {
            migrations.append((identifier, migration))
        }
        register("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE enquiry (
                        id TEXT PRIMARY KEY,
                        rag TEXT NOT NULL,
                        status TEXT NOT NULL,          -- awaiting, complete, withdrawn, refused
                        sender TEXT NOT NULL,
                        subject_ref TEXT NOT NULL,     -- pseudonym, never the person
                        opened_at REAL NOT NULL,
                        counted_from REAL NOT NULL,
                        partners_due REAL NOT NULL,
                        partners_warning REAL NOT NULL,
                        decision_due REAL NOT NULL,
                        decision_warning REAL NOT NULL,
                        document BLOB,                 -- the enquiry JSON, sealed with the data keyring
                        refusal TEXT,
                        completed_at REAL
                    );
                    CREATE TABLE request (
                        id TEXT PRIMARY KEY,
                        enquiry_id TEXT NOT NULL REFERENCES enquiry(id),
                        agency TEXT NOT NULL,
                        mandatory INTEGER NOT NULL,
                        status TEXT NOT NULL,          -- sent, answered, cancelled
                        due REAL NOT NULL,
                        warning REAL NOT NULL,
                        outcome TEXT,
                        response BLOB,                 -- the response JSON, sealed with the data keyring
                        answered_at REAL,
                        UNIQUE (enquiry_id, agency)
                    );
                    CREATE TABLE timer (
                        id INTEGER PRIMARY KEY,
                        due REAL NOT NULL,
                        event TEXT NOT NULL,           -- warning, breach, chase
                        clock TEXT NOT NULL,           -- partners (a request's), decision (the enquiry's)
                        enquiry_id TEXT NOT NULL,
                        request_id TEXT,
                        fired_at REAL
                    );
                    CREATE INDEX timer_pending ON timer (due) WHERE fired_at IS NULL;
                    \(Outbox.schema)
                    \(Inbox.schema)
                    CREATE TABLE record_of_sharing (
                        seq INTEGER PRIMARY KEY,
                        at TEXT NOT NULL,
                        sender TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        purpose TEXT NOT NULL,
                        lawful_basis TEXT NOT NULL,
                        data_categories TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        enquiry_id TEXT NOT NULL,
                        subject_ref TEXT NOT NULL,
                        previous_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    );
                    CREATE TRIGGER record_of_sharing_no_update BEFORE UPDATE ON record_of_sharing
                    BEGIN SELECT RAISE(ABORT, 'the record of sharing is append-only'); END;
                    CREATE TRIGGER record_of_sharing_no_delete BEFORE DELETE ON record_of_sharing
                    BEGIN SELECT RAISE(ABORT, 'the record of sharing is append-only'); END;
                    """)
        }
        register("v2: adapters") { db in
            try db.execute(
                sql: """
                    CREATE TABLE adapter (
                        agency TEXT PRIMARY KEY,
                        last_heartbeat_at REAL,
                        pending INTEGER NOT NULL DEFAULT 0,
                        version TEXT,
                        last_response_at REAL
                    );
                    """)
        }
        register("v3: police and school flows") { db in
            try db.execute(
                sql: """
                    CREATE TABLE dan (
                        id TEXT PRIMARY KEY,           -- the notification's own id
                        received_at REAL NOT NULL,
                        received_date TEXT NOT NULL,   -- the hub's local date, for the daily count
                        level TEXT NOT NULL,           -- the assessed level
                        effective_level TEXT NOT NULL, -- after any uplift
                        tool TEXT NOT NULL,            -- risk tool and version
                        referral INTEGER NOT NULL,     -- sent to the Practice Manager as a Red referral
                        contacts INTEGER NOT NULL,     -- significant contacts to allocated social workers
                        triage_date TEXT,              -- the daily triage it goes to, if any
                        flags TEXT NOT NULL,           -- pre-triage flags, comma-separated
                        children INTEGER NOT NULL,
                        notices INTEGER NOT NULL,      -- Encompass notices sent
                        document BLOB NOT NULL         -- the DAN, sealed with the data keyring
                    );
                    CREATE INDEX dan_triage ON dan (triage_date);
                    CREATE INDEX dan_received ON dan (received_date);
                    CREATE TABLE open_case (
                        child_ref TEXT PRIMARY KEY,    -- pseudonym of name and date of birth
                        allocation BLOB NOT NULL,      -- social worker and team, sealed
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE roll (
                        urn TEXT PRIMARY KEY,
                        pupils BLOB NOT NULL,          -- the roll in force, sealed
                        roll_id TEXT NOT NULL,         -- the message that set it
                        updated_at REAL NOT NULL
                    );
                    CREATE TABLE roll_index (
                        urn TEXT NOT NULL,
                        child_ref TEXT NOT NULL,       -- pseudonym of name and date of birth
                        upn_ref TEXT                   -- pseudonym of the UPN
                    );
                    CREATE INDEX roll_index_child ON roll_index (child_ref);
                    CREATE INDEX roll_index_upn ON roll_index (upn_ref);
                    CREATE INDEX roll_index_urn ON roll_index (urn);
                    CREATE TABLE roll_import (
                        id TEXT PRIMARY KEY,           -- the message id
                        urn TEXT NOT NULL,
                        received_at REAL NOT NULL,
                        format TEXT NOT NULL,
                        qualifier TEXT,
                        status TEXT NOT NULL,          -- accepted, rejected
                        pupils INTEGER NOT NULL DEFAULT 0,
                        joiners INTEGER NOT NULL DEFAULT 0,
                        leavers INTEGER NOT NULL DEFAULT 0,
                        missing_education INTEGER NOT NULL DEFAULT 0,
                        flags INTEGER NOT NULL DEFAULT 0,
                        problem TEXT                   -- why a file was rejected (line or element, never a value)
                    );
                    CREATE TABLE encompass_notice (
                        id TEXT PRIMARY KEY,
                        dan_id TEXT NOT NULL,
                        recipient TEXT NOT NULL,       -- school-<urn> or the LA officer
                        urn TEXT,
                        children INTEGER NOT NULL,
                        due REAL NOT NULL,
                        sent_at REAL NOT NULL,
                        acknowledged_at REAL,
                        escalated_at REAL
                    );
                    """)
        }
        register("v4: operator actions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE operator_action (
                        message_id TEXT PRIMARY KEY,   -- the request's message id, which mashctl waits for
                        kind TEXT NOT NULL,            -- OperatorAction.Kind
                        sender TEXT NOT NULL,          -- the broker party whose key signed it
                        operator TEXT NOT NULL,        -- the staff member named in it
                        at REAL NOT NULL,
                        summary TEXT NOT NULL          -- counts and codes, never personal data
                    );
                    """)
        }
        register("v5: decisions") { db in
            try db.execute(
                sql: """
                    ALTER TABLE enquiry ADD COLUMN decided_at REAL;
                    ALTER TABLE enquiry ADD COLUMN decision_outcome TEXT;  -- DecisionOutcome
                    ALTER TABLE enquiry ADD COLUMN decision BLOB;          -- the decision JSON, sealed with the data keyring
                    """)
        }
        register("v6: DAN triage outcomes") { db in
            try db.execute(
                sql: """
                    ALTER TABLE dan ADD COLUMN triage_decision TEXT;       -- TriageDecision
                    ALTER TABLE dan ADD COLUMN triaged_by TEXT;            -- the Practice Manager's staff id
                    ALTER TABLE dan ADD COLUMN triaged_at REAL;
                    ALTER TABLE dan ADD COLUMN triage_enquiry TEXT;        -- the enquiry an open-enquiry outcome opened
                    """)
        }
        register("v7: subjects of each disclosure") { db in
            // Covered by each new entry's hash; the append-only triggers are untouched (no row changes).
            try db.execute(sql: "ALTER TABLE record_of_sharing ADD COLUMN subjects TEXT NOT NULL DEFAULT ''")
            // An enquiry's people as the ledger names them (SubjectReference): the child, and its household.
            try db.execute(sql: "ALTER TABLE enquiry ADD COLUMN subjects TEXT NOT NULL DEFAULT ''")
            try db.execute(sql: "ALTER TABLE enquiry ADD COLUMN household_subjects TEXT NOT NULL DEFAULT ''")
        }
        register("v8: restrictions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE restriction (
                        ref TEXT PRIMARY KEY,          -- a SubjectReference: keyed, never the person
                        since REAL NOT NULL,
                        requested_by TEXT NOT NULL,
                        reason TEXT NOT NULL
                    );
                    """)
        }
        register("v9: corrections") { db in
            try db.execute(
                sql: """
                    CREATE TABLE correction (
                        id TEXT PRIMARY KEY,           -- the request's message id
                        action TEXT NOT NULL,          -- CorrectionAction
                        requested_by TEXT NOT NULL,    -- a staff id, or the party whose message caused it
                        reason TEXT NOT NULL,          -- the data subject's request reference
                        subjects TEXT NOT NULL,        -- the person's SubjectReferences, comma-separated
                        opened_at REAL NOT NULL,
                        respond_by REAL NOT NULL,      -- one month on (UK GDPR Art. 12(3))
                        closed_at REAL                 -- when the last recipient confirmed
                    );
                    CREATE TABLE correction_copy (
                        id TEXT PRIMARY KEY,           -- the copyID the recipient's receipt names
                        correction_id TEXT NOT NULL REFERENCES correction(id),
                        party TEXT NOT NULL,
                        exchange TEXT NOT NULL,
                        routing_key TEXT NOT NULL,
                        document BLOB NOT NULL,        -- the mash.correction/1 JSON, sealed under the correction's key
                        sent_at REAL NOT NULL,
                        chases INTEGER NOT NULL DEFAULT 0,
                        next_chase_at REAL NOT NULL,
                        confirmed_at REAL,
                        result TEXT,                   -- CorrectionReceipt.Result
                        copies INTEGER
                    );
                    CREATE INDEX correction_copy_waiting ON correction_copy (confirmed_at, next_chase_at);
                    """)
        }
        register("v10: the record of sharing's own period") { db in
            // Entries go only from the front, and only once a cut says where: the chain then verifies from the
            // cut's hash. Cuts are append-only too.
            try db.execute(
                sql: """
                    CREATE TABLE record_of_sharing_cut (
                        seq INTEGER PRIMARY KEY,       -- the last entry purged: every entry up to it is gone
                        hash TEXT NOT NULL,            -- its hash, which the next entry's previous_hash names
                        at REAL NOT NULL
                    );
                    CREATE TRIGGER record_of_sharing_cut_no_update BEFORE UPDATE ON record_of_sharing_cut
                    BEGIN SELECT RAISE(ABORT, 'the record of sharing is append-only'); END;
                    CREATE TRIGGER record_of_sharing_cut_no_delete BEFORE DELETE ON record_of_sharing_cut
                    BEGIN SELECT RAISE(ABORT, 'the record of sharing is append-only'); END;
                    DROP TRIGGER record_of_sharing_no_delete;
                    CREATE TRIGGER record_of_sharing_no_delete BEFORE DELETE ON record_of_sharing
                    WHEN OLD.seq > (SELECT coalesce(max(seq), 0) FROM record_of_sharing_cut)
                    BEGIN SELECT RAISE(ABORT, 'the record of sharing is append-only'); END;
                    """)
        }
        register("v11: the record of sharing's signed checkpoints") { db in
            try db.execute(
                sql: """
                    CREATE TABLE audit_checkpoint (
                        entries INTEGER PRIMARY KEY,   -- the chain's last sequence number when it was signed
                        hash TEXT NOT NULL,
                        at REAL NOT NULL,
                        jws TEXT NOT NULL              -- the signed mash.audit-checkpoint/1, as sent
                    );
                    """)
        }
        register("v12: personal data breaches") { db in
            try db.execute(
                sql: """
                    CREATE TABLE breach (
                        id TEXT PRIMARY KEY,
                        summary TEXT NOT NULL,         -- the operator's words for partners: no personal data
                        discovered_at REAL NOT NULL,
                        report_by REAL NOT NULL,       -- discovered_at + 72 hours (wall clock)
                        opened_by TEXT NOT NULL,
                        opened_at REAL NOT NULL,
                        parties TEXT NOT NULL,         -- the affected parties told, comma-separated
                        people INTEGER NOT NULL,       -- distinct people in the disclosures in scope
                        disclosures INTEGER NOT NULL,
                        alerted INTEGER NOT NULL DEFAULT 0,  -- 1: 24 h left alerted, 2: 4 h left, 3: overdue
                        notes TEXT NOT NULL DEFAULT '',
                        closed_at REAL,
                        closed_by TEXT,
                        ico_reference TEXT,
                        not_reportable TEXT            -- why, when closed without a report
                    );
                    """)
        }
        register("v13: the grounds of each disclosure") { db in
            // Consent or override (who agreed, the rationale and its reference), the justification and any
            // exemption: covered by the entry's hash when not empty.
            try db.execute(sql: "ALTER TABLE record_of_sharing ADD COLUMN grounds TEXT NOT NULL DEFAULT ''")
        }
        register("v14: watchdogs and refusal reports") { db in
            try db.execute(
                sql: """
                    ALTER TABLE adapter ADD COLUMN heartbeat_interval REAL;  -- seconds, as the party last said
                    CREATE TABLE refusal (
                        party TEXT NOT NULL,           -- the adapter or desk that refused
                        queue TEXT NOT NULL,           -- the queue it refused the message on
                        message_id TEXT NOT NULL,      -- the refused message's id
                        type TEXT,                     -- the refused message's AMQP type
                        reason TEXT NOT NULL,          -- a reason code (docs/protocol.md)
                        detail TEXT NOT NULL,          -- fields and ids, never a value
                        refused_at REAL NOT NULL,
                        received_at REAL NOT NULL,
                        PRIMARY KEY (queue, message_id, party)
                    );
                    """)
        }
        register("v15: missing from home and care") { db in
            try db.execute(
                sql: """
                    CREATE TABLE missing_episode (
                        id TEXT PRIMARY KEY,           -- the police's episode id
                        state TEXT NOT NULL,           -- MissingEpisode.State
                        reported INTEGER NOT NULL,     -- the missing report has come (a found report may come first)
                        child_ref TEXT,                -- pseudonym of name and date of birth, for the panel's count
                        subjects TEXT NOT NULL DEFAULT '',  -- SubjectReferences of the child
                        risk TEXT,                     -- PoliceRisk
                        missing_from TEXT,             -- MissingFrom
                        exploitation TEXT NOT NULL DEFAULT '',  -- ExploitationFlags (police and interviews), comma-separated
                        placing_authority TEXT,        -- la-<code>, when another authority placed the child
                        open_case INTEGER NOT NULL DEFAULT 0,
                        reported_at REAL,
                        received_at REAL NOT NULL,
                        found_at REAL,
                        interview_due REAL,            -- found_at + missing.interviewWithin
                        offered_at REAL,
                        held_at REAL,
                        interview_response TEXT,       -- ReturnInterview.Response
                        interview_by TEXT,             -- the party that recorded it
                        independent INTEGER,
                        concluded_at REAL,
                        alerted_at REAL,               -- the clock's one alert
                        chases INTEGER NOT NULL DEFAULT 0,  -- requests sent again to the placing authority
                        missing_report BLOB,           -- each document as received, sealed under the episode's key
                        found_report BLOB,
                        interview BLOB
                    );
                    CREATE INDEX missing_episode_child ON missing_episode (child_ref);
                    CREATE INDEX missing_episode_state ON missing_episode (state);
                    """)
        }
        register("v16: the front door") { db in
            try db.execute(
                sql: """
                    CREATE TABLE contact (
                        id TEXT PRIMARY KEY,           -- the portal's contact id
                        reference TEXT NOT NULL,       -- what the referrer quotes
                        portal TEXT NOT NULL,          -- the party it came through, and is answered through
                        referrer TEXT NOT NULL,        -- the portal account's staff id
                        received_at REAL NOT NULL,
                        screen_due REAL NOT NULL,      -- the close of the next working day
                        state TEXT NOT NULL,           -- ContactState
                        subject_ref TEXT NOT NULL,
                        subjects TEXT NOT NULL DEFAULT '',
                        decision TEXT,                 -- ScreeningDecision
                        screened_by TEXT,
                        screened_at REAL,
                        enquiry_id TEXT,               -- the MASH enquiry it was screened into
                        outcome TEXT,                  -- the screening decision, or the enquiry's DecisionOutcome
                        told_at REAL,                  -- when the referrer was sent the outcome
                        feedback BLOB,                 -- the SPA's words for the referrer, sealed
                        document BLOB NOT NULL         -- the contact as received, sealed under its own key
                    );
                    CREATE INDEX contact_enquiry ON contact (enquiry_id);
                    """)
        }
        register("v17: feedback delivered, no-name consultations") { db in
            try db.execute(
                sql: """
                    -- The referrer's portal confirmed it holds the outcome (mash.delivery-receipt/1); due within
                    -- one working day of told_at.
                    ALTER TABLE contact ADD COLUMN feedback_due REAL;
                    ALTER TABLE contact ADD COLUMN delivered_at REAL;
                    -- The no-name consultation the contact follows (its NNC- reference).
                    ALTER TABLE contact ADD COLUMN consultation TEXT;
                    CREATE TABLE consultation (
                        id TEXT PRIMARY KEY,
                        reference TEXT NOT NULL,
                        screener TEXT NOT NULL,        -- the SPA party that recorded it
                        portal TEXT NOT NULL,          -- the professional's portal
                        professional TEXT NOT NULL,    -- their portal account's staff id
                        held_at REAL NOT NULL,
                        received_at REAL NOT NULL,
                        summary_due REAL NOT NULL,     -- one working day after it was held
                        delivered_at REAL,             -- the portal confirmed it holds the summary
                        corrections INTEGER NOT NULL DEFAULT 0,
                        document BLOB NOT NULL         -- sealed under its own key (no child is identified in it)
                    );
                    CREATE INDEX consultation_reference ON consultation (reference);
                    """)
        }
        register("v18: challenges to decisions, meetings") { db in
            try db.execute(
                sql: """
                    CREATE TABLE challenge (
                        id TEXT PRIMARY KEY,
                        enquiry_id TEXT NOT NULL,      -- the decided enquiry challenged
                        raised_by TEXT NOT NULL,       -- the party that raised it, and is told each stage
                        raiser_staff TEXT NOT NULL,    -- its member of staff's id
                        raised_at REAL NOT NULL,
                        received_at REAL NOT NULL,
                        stage TEXT NOT NULL,           -- ChallengeStage
                        stage_due REAL,                -- the stage's clock (NULL once resolved)
                        resolved_at REAL,
                        document BLOB NOT NULL         -- the challenge as received, sealed under its own key
                    );
                    CREATE INDEX challenge_enquiry ON challenge (enquiry_id);
                    -- A DAN with an unborn child (the Midwifery Safeguarding Meeting's list); DANs received before
                    -- this migration count as without.
                    ALTER TABLE dan ADD COLUMN unborn INTEGER NOT NULL DEFAULT 0;
                    CREATE TABLE challenge_stage (
                        id TEXT PRIMARY KEY,           -- the stage record's id
                        challenge_id TEXT NOT NULL REFERENCES challenge(id),
                        stage TEXT NOT NULL,           -- ChallengeStage
                        recorded_by TEXT NOT NULL,     -- the party that recorded it (the hub for raised)
                        staff TEXT NOT NULL,
                        at REAL NOT NULL,
                        document BLOB NOT NULL         -- sealed under the challenge's key
                    );
                    CREATE INDEX challenge_stage_challenge ON challenge_stage (challenge_id);
                    CREATE TABLE meeting (
                        id TEXT PRIMARY KEY,           -- the sitting's id (mash-2026-12-07T11:30)
                        kind TEXT NOT NULL,            -- MeetingSchedule.Kind
                        held_at REAL NOT NULL,
                        recorded_by TEXT NOT NULL,
                        staff TEXT NOT NULL,
                        attendees TEXT NOT NULL,       -- staff ids, comma-separated
                        agencies TEXT NOT NULL,        -- the agencies that attended, comma-separated
                        received_at REAL NOT NULL,
                        document BLOB NOT NULL         -- the record as received, sealed under its own key
                    );
                    CREATE TABLE meeting_agenda (
                        id TEXT PRIMARY KEY,           -- the sitting whose list was sent to the Practice Manager
                        sent_at REAL NOT NULL
                    );
                    CREATE TABLE meeting_item (
                        meeting_id TEXT NOT NULL REFERENCES meeting(id),
                        enquiry_id TEXT NOT NULL,
                        agreed TEXT NOT NULL,          -- DecisionOutcome
                        PRIMARY KEY (meeting_id, enquiry_id)
                    );
                    """)
        }
        register("v19: enquiries about an unborn child") { db in
            // 1 when the enquiry carried unbornWeeks (the Midwifery meeting's list); enquiries before count as not.
            try db.execute(sql: "ALTER TABLE enquiry ADD COLUMN unborn INTEGER NOT NULL DEFAULT 0")
        }
        return migrations
    }

    public func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T { try sql.write(body) }
    public func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T { try sql.read(body) }
}
