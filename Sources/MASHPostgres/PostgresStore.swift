import Dispatch
import Foundation
import GRDB
import MASHService
import Synchronization

/// A service's store on PostgreSQL: one connection for write transactions and one for reads, each on a serial
/// queue of its own (so a transaction's closure runs on that queue, as GRDB's run on its queues, and nothing
/// blocks the cooperative pool). A connection that failed is opened again for the next transaction; the
/// transaction that saw the failure throws, so its deliveries are not acked.
///
/// With a synchronous standby (`synchronous_standby_names`), `write` returns only once its commit is on the
/// standby's disk too: the ack that follows it is safe on two hosts.
public final class PostgresStore: SQLStore, @unchecked Sendable {
    public let conninfo: String
    /// Runs first in every write transaction; throwing rolls it back (the coordinator's lease check).
    private let fence = Mutex<(@Sendable (any SQLDatabase) throws -> Void)?>(nil)
    private let writer = Connection(label: "mash.postgres.writer")
    private let reader = Connection(label: "mash.postgres.reader")

    public var engine: SQLEngine { .postgres }

    /// `conninfo`: a libpq URL, e.g. `postgresql://mash_coordinator@db1:5432,db2:5432/mash?sslmode=verify-full&
    /// target_session_attrs=read-write` (the password from `PGPASSWORD` or `PGPASSFILE`).
    public init(conninfo: String) throws {
        self.conninfo = conninfo
        try writer.queue.sync { _ = try writer.database(conninfo) }
    }

    /// Closes both connections (after the transaction in hand); the next transaction opens them again. For a
    /// service that has stopped, so its connections do not outlive it.
    public func disconnect() {
        for connection in [writer, reader] {
            connection.queue.sync { connection.current = nil }
        }
    }

    /// Sets what every write transaction checks before its own statements.
    public func fence(with check: (@Sendable (any SQLDatabase) throws -> Void)?) {
        fence.withLock { $0 = check }
    }

    final class Connection: @unchecked Sendable {
        let queue: DispatchQueue
        var current: PostgresDatabase?
        init(label: String) { queue = DispatchQueue(label: label) }

        func database(_ conninfo: String) throws -> PostgresDatabase {
            if let current, current.isHealthy { return current }
            current = nil
            let opened = try PostgresDatabase(conninfo: conninfo)
            current = opened
            return opened
        }

        /// Runs `body` in a transaction on this queue's connection.
        func transaction<T>(
            _ conninfo: String, begin: String, fence: (@Sendable (any SQLDatabase) throws -> Void)?,
            _ body: (PostgresDatabase) throws -> T
        ) throws -> T {
            let db = try database(conninfo)
            do {
                try db.sqlExecute(begin, arguments: [], cached: false)
                try fence?(db)
                let value = try body(db)
                try db.sqlExecute("COMMIT", arguments: [], cached: false)
                return value
            } catch {
                if db.isHealthy {
                    try? db.sqlExecute("ROLLBACK", arguments: [], cached: false)
                } else {
                    current = nil
                }
                throw error
            }
        }
    }

    /// Reads see one snapshot, as a GRDB read does.
    static let beginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"

    private var currentFence: (@Sendable (any SQLDatabase) throws -> Void)? { fence.withLock { $0 } }

    public func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try reader.queue.sync {
            try reader.transaction(conninfo, begin: Self.beginRead, fence: nil) {
                try body($0)
            }
        }
    }

    public func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        let fence = currentFence
        return try writer.queue.sync {
            try writer.transaction(conninfo, begin: "BEGIN", fence: fence) { try body($0) }
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            reader.queue.async { [self] in
                continuation.resume(
                    with: Result {
                        try reader.transaction(
                            conninfo, begin: Self.beginRead, fence: nil
                        ) { try body($0) }
                    })
            }
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        let fence = currentFence
        return try await withCheckedThrowingContinuation { continuation in
            writer.queue.async { [self] in
                continuation.resume(
                    with: Result { try writer.transaction(conninfo, begin: "BEGIN", fence: fence) { try body($0) } })
            }
        }
    }

    /// Runs the migrations not yet applied, each in its own transaction with its SQLite DDL translated
    /// (`PostgresSchema`), under a transaction-level advisory lock so two coordinators starting together do
    /// not both migrate. Applied ones are kept in `schema_migration`.
    public func migrate(_ migrations: [(String, @Sendable (any SQLDatabase) throws -> Void)]) throws {
        try writer.queue.sync {
            try writer.transaction(conninfo, begin: "BEGIN", fence: nil) { db in
                try db.sqlExecute(SchemaLock.migrations.sql, arguments: [], cached: false)
                try db.sqlExecute(
                    "CREATE TABLE IF NOT EXISTS schema_migration (identifier TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)",
                    arguments: [], cached: false)
            }
            for (identifier, migration) in migrations {
                try writer.transaction(conninfo, begin: "BEGIN", fence: nil) { db in
                    try db.sqlExecute(SchemaLock.migrations.sql, arguments: [], cached: false)
                    let applied = try db.sqlFirstValue(
                        "SELECT 1 FROM schema_migration WHERE identifier = ?", arguments: [identifier], cached: false)
                    guard applied == nil else { return }
                    db.translatesSchema = true
                    defer { db.translatesSchema = false }
                    try migration(db)
                    try db.sqlExecute(
                        "INSERT INTO schema_migration (identifier, applied_at) VALUES (?, ?)",
                        arguments: [identifier, Date().timeIntervalSince1970], cached: false)
                }
            }
        }
    }

    /// Runs `sql` on the writer's connection outside a transaction (`VACUUM` cannot run inside one).
    public func executeOutsideTransaction(_ sql: String) throws {
        try writer.queue.sync { try writer.database(conninfo).sqlExecute(sql, arguments: [], cached: false) }
    }

    /// The identifiers of the migrations applied.
    public func appliedMigrations() throws -> [String] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT identifier FROM schema_migration ORDER BY identifier")
        }
    }
}

/// The transaction-scoped advisory locks taken before tables are made or changed. Two coordinators starting at once
/// would otherwise both create a table, and the second `CREATE TABLE IF NOT EXISTS` fails on PostgreSQL's catalogue
/// (a duplicate `pg_type` row); and both would apply the same migration.
enum SchemaLock: Int {
    case migrations = 4040
    case lease = 4041

    var sql: String { "SELECT pg_advisory_xact_lock(\(rawValue))" }
}
