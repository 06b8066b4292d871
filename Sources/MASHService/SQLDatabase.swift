import Foundation
import GRDB

/// The engines a store can be on.
public enum SQLEngine: String, Sendable {
    case sqlite
    case postgres
}

/// One connection inside a transaction, as a flow's SQL sees it: GRDB's `Database` for the embedded SQLite
/// store, or a PostgreSQL connection (`MASHPostgres`). The flows are written once against this, in the SQL both
/// engines take (`ON CONFLICT … DO NOTHING`, `IS NOT DISTINCT FROM`, `?` placeholders, which the PostgreSQL
/// side numbers); where the two differ, `SQLEngine`'s helpers say it.
///
/// Values and rows are GRDB's own (`StatementArguments`, `DatabaseValue`, `Row`), so a flow reads a row the
/// same way whichever engine gave it. The fetch functions below have GRDB's names and shapes
/// (`Row.fetchAll(db, sql:arguments:)`), so code moved onto this protocol reads as it did.
///
/// The requirements have names of their own (`sql…`) so they never compete with GRDB's methods on a
/// `Database` that is used directly.
public protocol SQLDatabase: AnyObject {
    var sqlEngine: SQLEngine { get }
    /// Runs one statement (or, without arguments, a script of several). `cached`: prepared once per
    /// connection, for SQL whose text does not vary.
    func sqlExecute(_ sql: String, arguments: StatementArguments, cached: Bool) throws
    func sqlRows(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> [Row]
    func sqlFirstRow(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> Row?
    /// The first column of the first row; `nil` when there is no row.
    func sqlFirstValue(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> DatabaseValue?
    /// The first column of every row.
    func sqlFirstColumn(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> [DatabaseValue]
    /// Rows changed by the last statement.
    var sqlChangesCount: Int { get }
    func sqlTableExists(_ name: String) throws -> Bool
    /// Runs `body` in a savepoint: rolled back alone when it throws or returns `.rollback`.
    func sqlInSavepoint(_ body: () throws -> Database.TransactionCompletion) throws
}

/// A value read from a column that is not of the type asked for.
public struct SQLDecodingError: Error, CustomStringConvertible {
    public var type: String
    public var value: String
    public var sql: String
    public var description: String { "cannot read a \(type) from \(value) (\(sql))" }
}

/// A statement to run with `cached` preparation: what `db.cachedStatement(sql:)` gives on a `SQLDatabase`.
public struct SQLStatement {
    public let database: any SQLDatabase
    public let sql: String

    public func execute(arguments: StatementArguments = StatementArguments()) throws {
        try database.sqlExecute(sql, arguments: arguments, cached: true)
    }
}

extension SQLDatabase {
    public var engine: SQLEngine { sqlEngine }
    public func execute(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try sqlExecute(sql, arguments: arguments, cached: false)
    }
    public func executeCached(sql: String, arguments: StatementArguments = StatementArguments()) throws {
        try sqlExecute(sql, arguments: arguments, cached: true)
    }
    public func cachedStatement(sql: String) throws -> SQLStatement { SQLStatement(database: self, sql: sql) }
    public var changesCount: Int { sqlChangesCount }
    public func tableExists(_ name: String) throws -> Bool { try sqlTableExists(name) }
    public func inSavepoint(_ body: () throws -> Database.TransactionCompletion) throws { try sqlInSavepoint(body) }
}

extension SQLEngine {
    /// Seconds since 1970 of an ISO 8601 text column (the record of sharing's `at`).
    public func epochSeconds(ofText column: String) -> String {
        switch self {
        case .sqlite: "CAST(strftime('%s', \(column)) AS REAL)"
        case .postgres: "EXTRACT(EPOCH FROM CAST(\(column) AS timestamptz))"
        }
    }

    /// Whether `needle` occurs in `haystack` (both SQL expressions).
    public func contains(_ haystack: String, _ needle: String) -> String {
        switch self {
        case .sqlite: "instr(\(haystack), \(needle)) > 0"
        case .postgres: "strpos(\(haystack), \(needle)) > 0"
        }
    }

    /// The smaller of two values (SQLite's two-argument `MIN`, PostgreSQL's `LEAST`).
    public func least(_ a: String, _ b: String) -> String {
        switch self {
        case .sqlite: "MIN(\(a), \(b))"
        case .postgres: "LEAST(\(a), \(b))"
        }
    }

    /// A column that tells apart rows with no key of their own.
    public var rowIdentity: String {
        switch self {
        case .sqlite: "rowid"
        case .postgres: "ctid"
        }
    }
}

extension Row {
    public static func fetchAll(
        _ db: any SQLDatabase, sql: String, arguments: StatementArguments = StatementArguments()
    ) throws -> [Row] { try db.sqlRows(sql, arguments: arguments, cached: false) }

    public static func fetchOne(
        _ db: any SQLDatabase, sql: String, arguments: StatementArguments = StatementArguments()
    ) throws -> Row? { try db.sqlFirstRow(sql, arguments: arguments, cached: false) }

    public static func fetchAll(_ statement: SQLStatement, arguments: StatementArguments = StatementArguments())
        throws -> [Row]
    { try statement.database.sqlRows(statement.sql, arguments: arguments, cached: true) }

    public static func fetchOne(_ statement: SQLStatement, arguments: StatementArguments = StatementArguments())
        throws -> Row?
    { try statement.database.sqlFirstRow(statement.sql, arguments: arguments, cached: true) }
}

extension DatabaseValueConvertible {
    static func decoded(_ value: DatabaseValue?, sql: String) throws -> Self? {
        guard let value, !value.isNull else { return nil }
        guard let decoded = Self.fromDatabaseValue(value) else {
            throw SQLDecodingError(type: "\(Self.self)", value: value.description, sql: sql)
        }
        return decoded
    }

    public static func fetchOne(
        _ db: any SQLDatabase, sql: String, arguments: StatementArguments = StatementArguments()
    ) throws -> Self? { try decoded(db.sqlFirstValue(sql, arguments: arguments, cached: false), sql: sql) }

    public static func fetchOne(_ statement: SQLStatement, arguments: StatementArguments = StatementArguments())
        throws -> Self?
    {
        try decoded(
            statement.database.sqlFirstValue(statement.sql, arguments: arguments, cached: true), sql: statement.sql)
    }

    public static func fetchAll(
        _ db: any SQLDatabase, sql: String, arguments: StatementArguments = StatementArguments()
    ) throws -> [Self] {
        try db.sqlFirstColumn(sql, arguments: arguments, cached: false).compactMap { try decoded($0, sql: sql) }
    }

    public static func fetchAll(_ statement: SQLStatement, arguments: StatementArguments = StatementArguments())
        throws -> [Self]
    {
        try statement.database.sqlFirstColumn(statement.sql, arguments: arguments, cached: true).compactMap {
            try decoded($0, sql: statement.sql)
        }
    }
}

extension Database: SQLDatabase {
    public var sqlEngine: SQLEngine { .sqlite }

    /// GRDB's own statement: named by type, because `SQLDatabase.cachedStatement(sql:)` (an `SQLStatement`,
    /// which runs through `sqlExecute`) is also visible here and would call back into this conformance.
    private func statement(_ sql: String, cached: Bool) throws -> Statement {
        cached ? try cachedStatement(sql: sql) as Statement : try makeStatement(sql: sql)
    }

    public func sqlExecute(_ sql: String, arguments: StatementArguments, cached: Bool) throws {
        if cached {
            try statement(sql, cached: true).execute(arguments: arguments)
        } else {
            // A script of several statements (a migration) runs whole.
            try execute(sql: sql, arguments: arguments) as Void
        }
    }

    public func sqlRows(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> [Row] {
        try Row.fetchAll(statement(sql, cached: cached), arguments: arguments)
    }

    public func sqlFirstRow(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> Row? {
        try Row.fetchOne(statement(sql, cached: cached), arguments: arguments)
    }

    public func sqlFirstValue(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> DatabaseValue? {
        try Row.fetchOne(statement(sql, cached: cached), arguments: arguments).map { $0[0] as DatabaseValue }
    }

    public func sqlFirstColumn(_ sql: String, arguments: StatementArguments, cached: Bool) throws
        -> [DatabaseValue]
    {
        try DatabaseValue.fetchAll(statement(sql, cached: cached), arguments: arguments)
    }

    public var sqlChangesCount: Int { (self as Database).changesCount }

    public func sqlTableExists(_ name: String) throws -> Bool { try tableExists(name, in: nil) }

    public func sqlInSavepoint(_ body: () throws -> Database.TransactionCompletion) throws {
        try (self as Database).inSavepoint(body)
    }
}

/// A store's connections, as the services use them: reads and write transactions, waited for off the
/// cooperative pool (GRDB's queues for SQLite, a serial queue per connection for PostgreSQL).
public protocol SQLStore: Sendable {
    var engine: SQLEngine { get }
    func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T
    func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T
    func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T
}

/// The embedded SQLite store (`DurableStore.open`'s pool) as a `SQLStore`.
public struct SQLiteStore: SQLStore {
    public let pool: DatabasePool
    public init(_ pool: DatabasePool) { self.pool = pool }
    public var engine: SQLEngine { .sqlite }
    public func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T { try pool.read { try body($0) } }
    public func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T { try pool.write { try body($0) } }
    public func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        try await pool.read { try body($0) }
    }
    public func write<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
        try await pool.write { try body($0) }
    }
}
