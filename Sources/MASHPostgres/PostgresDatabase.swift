import CLibPQ
import Foundation
import GRDB
import MASHService

/// What PostgreSQL (or libpq) said when a statement or the connection failed.
public struct PostgresError: Error, CustomStringConvertible {
    /// The SQLSTATE (`23505` unique violation, `40001` serialization failure …); empty for a connection error.
    public var sqlState: String
    public var message: String
    public var description: String { sqlState.isEmpty ? message : "\(message) (SQLSTATE \(sqlState))" }

    /// The connection itself is gone (the server stopped, the network failed): the transaction did not commit.
    public var isConnectionLost: Bool { sqlState.isEmpty || sqlState.hasPrefix("08") || sqlState == "57P01" }
}

/// One libpq connection, used from one serial queue at a time (`PostgresStore`). libpq is the engine's own
/// client library, synchronous like SQLite's: a transaction's closure runs on the store's queue exactly as a
/// GRDB closure runs on GRDB's, and nothing waits on the cooperative pool.
public final class PostgresDatabase: SQLDatabase {
    let connection: OpaquePointer
    private var prepared: [String: String] = [:]
    private var changes = 0
    private var savepoints = 0
    /// During migrations: SQLite DDL is translated (`PostgresSchema`).
    var translatesSchema = false

    public var sqlEngine: SQLEngine { .postgres }

    /// Opens a connection; `conninfo` is a libpq URL or keyword string (several hosts with
    /// `target_session_attrs=read-write` find whichever is the primary).
    public init(conninfo: String) throws {
        guard let connection = PQconnectdb(conninfo) else {
            throw PostgresError(sqlState: "", message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(connection)
            throw PostgresError(sqlState: "", message: message)
        }
        self.connection = connection
        // The server's notices (a schema that did not exist yet) are not for the service's output.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Our transactions never wait on anything but the server: one left open is a paused or stuck process,
        // whose locks (the lease row's among them) the server then releases.
        try sqlExecute("SET idle_in_transaction_session_timeout = '5s'", arguments: [], cached: false)
    }

    deinit { PQfinish(connection) }

    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    // MARK: SQLDatabase

    public func sqlExecute(_ sql: String, arguments: StatementArguments, cached: Bool) throws {
        let result = try run(sql, arguments: arguments, cached: cached)
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
        PQclear(result)
    }

    public func sqlRows(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> [Row] {
        let result = try run(sql, arguments: arguments, cached: cached)
        defer { PQclear(result) }
        let columns = (0..<PQnfields(result)).map { String(cString: PQfname(result, $0)) }
        return (0..<PQntuples(result)).map { row in
            var values: [String: (any DatabaseValueConvertible)?] = [:]
            for (index, name) in columns.enumerated() {
                values[name] = Self.value(result, row: row, column: Int32(index))
            }
            return Row(values)
        }
    }

    public func sqlFirstRow(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> Row? {
        try sqlRows(sql, arguments: arguments, cached: cached).first
    }

    public func sqlFirstValue(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> DatabaseValue? {
        let result = try run(sql, arguments: arguments, cached: cached)
        defer { PQclear(result) }
        guard PQntuples(result) > 0, PQnfields(result) > 0 else { return nil }
        return Self.value(result, row: 0, column: 0)
    }

    public func sqlFirstColumn(_ sql: String, arguments: StatementArguments, cached: Bool) throws
        -> [DatabaseValue]
    {
        let result = try run(sql, arguments: arguments, cached: cached)
        defer { PQclear(result) }
        guard PQnfields(result) > 0 else { return [] }
        return (0..<PQntuples(result)).map { Self.value(result, row: $0, column: 0) }
    }

    public var sqlChangesCount: Int { changes }

    public func sqlTableExists(_ name: String) throws -> Bool {
        try sqlFirstValue(
            "SELECT to_regclass(?) IS NOT NULL", arguments: [name.lowercased()], cached: true
        ).flatMap(Bool.fromDatabaseValue) ?? false
    }

    public func sqlInSavepoint(_ body: () throws -> Database.TransactionCompletion) throws {
        savepoints += 1
        let name = "s\(savepoints)"
        defer { savepoints -= 1 }
        try sqlExecute("SAVEPOINT \(name)", arguments: [], cached: false)
        let completion: Database.TransactionCompletion
        do {
            completion = try body()
        } catch {
            if isHealthy { try? sqlExecute("ROLLBACK TO SAVEPOINT \(name)", arguments: [], cached: false) }
            throw error
        }
        switch completion {
        case .commit: try sqlExecute("RELEASE SAVEPOINT \(name)", arguments: [], cached: false)
        case .rollback: try sqlExecute("ROLLBACK TO SAVEPOINT \(name)", arguments: [], cached: false)
        }
    }

    // MARK: Running statements

    /// A script that makes tables (written in SQLite's types, as the services' migrations are).
    static func isSchemaChange(_ sql: String) -> Bool {
        let start = sql.drop { $0.isWhitespace }.prefix(7).uppercased()
        return start.hasPrefix("CREATE ") || start.hasPrefix("ALTER ")
    }

    private func run(_ sql: String, arguments: StatementArguments, cached: Bool) throws -> OpaquePointer {
        let (positional, named) = Self.values(of: arguments)
        if positional.isEmpty && named.isEmpty && !cached {
            let script = translatesSchema || Self.isSchemaChange(sql) ? PostgresSchema.translate(sql) : sql
            return try check(PQexec(connection, script), sql: sql)
        }
        let (text, order) = PostgresSQL.numbered(sql)
        let values: [DatabaseValue] = try order.map { key in
            switch key {
            case .position(let index):
                guard index < positional.count else { throw tooFew(sql) }
                return positional[index]
            case .name(let name):
                guard let value = named[name] ?? named[name.lowercased()] else { throw tooFew(sql) }
                return value
            }
        }
        let parameters = Parameters(values)
        defer { parameters.free() }
        if cached {
            let name: String
            if let known = prepared[sql] {
                name = known
            } else {
                name = "mash\(prepared.count + 1)"
                PQclear(
                    try check(
                        PQprepare(connection, name, text, Int32(values.count), parameters.types), sql: sql))
                prepared[sql] = name
            }
            return try check(
                PQexecPrepared(
                    connection, name, Int32(values.count), parameters.values, parameters.lengths,
                    parameters.formats, 0), sql: sql)
        }
        return try check(
            PQexecParams(
                connection, text, Int32(values.count), parameters.types, parameters.values, parameters.lengths,
                parameters.formats, 0), sql: sql)
    }

    private func tooFew(_ sql: String) -> PostgresError {
        PostgresError(sqlState: "08P01", message: "too few arguments for: \(sql)")
    }

    private func check(_ result: OpaquePointer?, sql: String) throws -> OpaquePointer {
        guard let result else {
            throw PostgresError(sqlState: "", message: String(cString: PQerrorMessage(connection)))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return result
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let message = String(cString: PQresultErrorMessage(result)).trimmingCharacters(
                in: .whitespacesAndNewlines)
            PQclear(result)
            throw PostgresError(sqlState: state, message: message)
        }
    }

    /// GRDB keeps a `StatementArguments`' values to itself; its stored properties are read by reflection
    /// (positional `values`, `namedValues`), which is how a flow's arguments reach this engine unchanged.
    static func values(of arguments: StatementArguments) -> ([DatabaseValue], [String: DatabaseValue]) {
        var positional: [DatabaseValue] = []
        var named: [String: DatabaseValue] = [:]
        for child in Mirror(reflecting: arguments).children {
            if child.label == "values", let values = child.value as? [DatabaseValue] { positional = values }
            if child.label == "namedValues", let values = child.value as? [String: DatabaseValue] { named = values }
        }
        return (positional, named)
    }

    static func value(_ result: OpaquePointer, row: Int32, column: Int32) -> DatabaseValue {
        if PQgetisnull(result, row, column) == 1 { return .null }
        let text = String(cString: PQgetvalue(result, row, column))
        switch PQftype(result, column) {
        case 16: return (text == "t" ? 1 : 0).databaseValue
        case 20, 21, 23, 26: return (Int64(text) ?? 0).databaseValue
        case 700, 701: return (Double(text) ?? 0).databaseValue
        case 1700:
            if let integer = Int64(text) { return integer.databaseValue }
            return (Double(text) ?? 0).databaseValue
        case 17: return PostgresSQL.bytea(text).databaseValue
        default: return text.databaseValue
        }
    }
}

/// The parameters of one statement as libpq takes them: text for numbers and strings (the server infers
/// their types from where they are used), binary `bytea` for blobs.
final class Parameters {
    let count: Int
    let values: UnsafeMutablePointer<UnsafePointer<CChar>?>
    let lengths: UnsafeMutablePointer<Int32>
    let formats: UnsafeMutablePointer<Int32>
    let types: UnsafeMutablePointer<Oid>
    private var buffers: [UnsafeMutableRawPointer] = []

    init(_ databaseValues: [DatabaseValue]) {
        count = databaseValues.count
        values = .allocate(capacity: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        formats = .allocate(capacity: max(count, 1))
        types = .allocate(capacity: max(count, 1))
        for (index, value) in databaseValues.enumerated() {
            var bytes: [UInt8]
            formats[index] = 0
            types[index] = 0
            switch value.storage {
            case .null:
                values[index] = nil
                lengths[index] = 0
                continue
            case .int64(let integer): bytes = Array(String(integer).utf8)
            case .double(let double):
                // Integral values go as integers, so a bigint column takes a whole number of seconds.
                if double.rounded() == double, abs(double) < 9.0e15 {
                    bytes = Array(String(Int64(double)).utf8)
                } else {
                    bytes = Array("\(double)".utf8)
                }
            case .string(let string): bytes = Array(string.utf8)
            case .blob(let data):
                bytes = Array(data)
                formats[index] = 1
                types[index] = 17
            }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes.count + 1, alignment: 1)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            buffer.storeBytes(of: 0, toByteOffset: bytes.count, as: UInt8.self)
            buffers.append(buffer)
            values[index] = UnsafePointer(buffer.assumingMemoryBound(to: CChar.self))
            lengths[index] = Int32(bytes.count)
        }
    }

    func free() {
        for buffer in buffers { buffer.deallocate() }
        values.deallocate()
        lengths.deallocate()
        formats.deallocate()
        types.deallocate()
    }
}

/// The SQL the flows write (SQLite's `?` and `:name` placeholders) as PostgreSQL takes it.
public enum PostgresSQL {
    public enum Placeholder: Equatable {
        case position(Int)
        case name(String)
    }

    /// Numbers the placeholders `$1`, `$2` … outside string literals, quoted names and comments: `?` in order,
    /// and each distinct `:name` once. Returns the text and, for each number, the argument it takes.
    public static func numbered(_ sql: String) -> (String, [Placeholder]) {
        var output = ""
        var order: [Placeholder] = []
        var names: [String: Int] = [:]
        var position = 0
        let characters = Array(sql)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "'", "\"":
                var end = index + 1
                while end < characters.count && characters[end] != character { end += 1 }
                output += String(characters[index...min(end, characters.count - 1)])
                index = end + 1
                continue
            case "-" where index + 1 < characters.count && characters[index + 1] == "-":
                while index < characters.count && characters[index] != "\n" {
                    output.append(characters[index])
                    index += 1
                }
                continue
            case "?":
                order.append(.position(position))
                position += 1
                output += "$\(order.count)"
            case ":"
            where index + 1 < characters.count && characters[index + 1].isLetter
                && (index == 0 || characters[index - 1] != ":"):
                var end = index + 1
                while end < characters.count
                    && (characters[end].isLetter || characters[end].isNumber || characters[end] == "_")
                {
                    end += 1
                }
                let name = String(characters[(index + 1)..<end])
                if let number = names[name] {
                    output += "$\(number)"
                } else {
                    order.append(.name(name))
                    names[name] = order.count
                    output += "$\(order.count)"
                }
                index = end
                continue
            default:
                output.append(character)
            }
            index += 1
        }
        return (output, order)
    }

    /// A `bytea` in the server's hex output (`\x0a1b…`).
    static func bytea(_ text: String) -> Data {
        var data = Data()
        var high: UInt8?
        for byte in text.utf8.dropFirst(2) {
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
            default: continue
            }
            if let first = high {
                data.append(first << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return data
    }
}

/// The services' migrations are written once, in SQLite's DDL; on PostgreSQL each script is translated: column
/// types (`INTEGER` → `BIGINT`, `REAL` → `DOUBLE PRECISION`, `BLOB` → `BYTEA`, a rowid key → an identity), and
/// the append-only triggers (`RAISE(ABORT, …)`) into PL/pgSQL functions with the same condition.
public enum PostgresSchema {
    public static func translate(_ sql: String) -> String {
        var text = sql
        let trigger = try! NSRegularExpression(
            pattern:
                #"CREATE TRIGGER (\w+) BEFORE (UPDATE|DELETE) ON (\w+)\s*(?:WHEN (.*?))?\s*BEGIN SELECT RAISE\(ABORT, '([^']*)'\); END;"#,
            options: [.dotMatchesLineSeparators])
        for match in trigger.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            func group(_ index: Int) -> String? {
                Range(match.range(at: index), in: text).map { String(text[$0]) }
            }
            let name = group(1)!
            let condition = group(4) ?? "true"
            let replacement = """
                CREATE OR REPLACE FUNCTION \(name)_refuse() RETURNS trigger LANGUAGE plpgsql AS $refuse$
                BEGIN
                    IF \(condition) THEN RAISE EXCEPTION '\(group(5)!)'; END IF;
                    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
                    RETURN NEW;
                END $refuse$;
                CREATE OR REPLACE TRIGGER \(name) BEFORE \(group(2)!) ON \(group(3)!)
                    FOR EACH ROW EXECUTE FUNCTION \(name)_refuse();
                """
            text.replaceSubrange(Range(match.range, in: text)!, with: replacement)
        }
        let rules: [(String, String)] = [
            (#"DROP TRIGGER \w+;"#, ""),
            (#"\bINTEGER PRIMARY KEY( AUTOINCREMENT)?"#, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
            (#"\bINTEGER\b"#, "BIGINT"),
            (#"\bREAL\b"#, "DOUBLE PRECISION"),
            (#"\bBLOB\b"#, "BYTEA"),
        ]
        for (pattern, replacement) in rules {
            text = text.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return text
    }
}
