import Foundation
import GRDB
import MASHService
import XCTest

/// What every engine behind `SQLStore` must do as the flows use it, checked the same way on SQLite (a unit
/// test, `SQLiteStoreConformanceTests`) and on the PostgreSQL pair (`PostgresStoreTests`).
enum StoreConformance {
    /// One entry of the record of sharing, for the tests that its append-only triggers refuse a change to it.
    static let ledgerEntry = """
        INSERT INTO record_of_sharing (seq, at, sender, recipient, purpose, lawful_basis,
            data_categories, message_id, enquiry_id, subject_ref, previous_hash, hash)
        VALUES (1, '2026-12-07T09:00:00Z', 'a', 'b', 'p', 'l', 'd', 'm', 'e', 's', 'h0', 'h1')
        """

    static func check(_ store: any SQLStore, file: StaticString = #filePath, line: UInt = #line) throws {
        try store.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS conformance")
            try db.execute(
                sql: """
                    CREATE TABLE conformance (
                        id TEXT PRIMARY KEY, n INTEGER, x REAL, blob BLOB, note TEXT, ref TEXT, at TEXT
                    )
                    """)
        }
        // Values of every kind the flows store, through both cached and one-off statements.
        let bytes: [UInt8] = [0, 1, 2, 0xfe, 0xff, 0x5c, 0x27]
        try store.write { db in
            try db.executeCached(
                sql: "INSERT INTO conformance (id, n, x, blob, note, ref, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: ["a", 42, 1.5, Data(bytes), "it's \"quoted\" ? :not", nil, "2026-12-07T09:00:00Z"])
            try db.executeCached(
                sql: "INSERT INTO conformance (id, n, x, blob, note, ref, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: ["b", Int64.max, 2.0, nil, nil, "r", "2026-12-07T10:00:00Z"])
        }
        let row = try XCTUnwrap(
            try store.read { try Row.fetchOne($0, sql: "SELECT * FROM conformance WHERE id = ?", arguments: ["a"]) },
            file: file, line: line)
        XCTAssertEqual(row["n"] as Int, 42, file: file, line: line)
        XCTAssertEqual(row["x"] as Double, 1.5, file: file, line: line)
        XCTAssertEqual(Array(row["blob"] as Data), bytes, file: file, line: line)
        XCTAssertEqual(row["note"] as String, "it's \"quoted\" ? :not", file: file, line: line)
        XCTAssertNil(row["ref"] as String?, file: file, line: line)
        // A REAL column keeps a whole number as a number (the flows store times as seconds).
        XCTAssertEqual(
            try store.read { try Double.fetchOne($0, sql: "SELECT x FROM conformance WHERE id = 'b'") }, 2.0,
            file: file, line: line)
        XCTAssertEqual(
            try store.read { try Int64.fetchOne($0, sql: "SELECT n FROM conformance WHERE id = 'b'") }, Int64.max,
            file: file, line: line)
        // Named arguments, one used twice.
        XCTAssertEqual(
            try store.read {
                try String.fetchAll(
                    $0, sql: "SELECT id FROM conformance WHERE n >= :low OR id = :id OR note = :id ORDER BY id",
                    arguments: ["low": 100, "id": "a"])
            }, ["a", "b"], file: file, line: line)
        // NULL compared as a value.
        XCTAssertEqual(
            try store.read {
                try String.fetchAll(
                    $0, sql: "SELECT id FROM conformance WHERE ref IS NOT DISTINCT FROM ?", arguments: [nil])
            }, ["a"], file: file, line: line)
        // The dialect helpers.
        let (contains, epoch, least) = try store.read { db in
            (
                try String.fetchAll(
                    db, sql: "SELECT id FROM conformance WHERE \(db.engine.contains("note", "?"))",
                    arguments: ["quoted"]),
                try Double.fetchOne(
                    db,
                    sql: "SELECT \(db.engine.epochSeconds(ofText: "at")) FROM conformance WHERE id = 'a'"),
                try Double.fetchOne(
                    db, sql: "SELECT \(db.engine.least("x", "?")) FROM conformance WHERE id = 'b'", arguments: [1.25])
            )
        }
        XCTAssertEqual(contains, ["a"], file: file, line: line)
        XCTAssertEqual(epoch, 1_796_634_000, file: file, line: line)
        XCTAssertEqual(least, 1.25, file: file, line: line)
        // ON CONFLICT DO NOTHING and the changes count the inbox relies on.
        let (first, second) = try store.write { db -> (Int, Int) in
            let sql = "INSERT INTO conformance (id, n) VALUES (?, ?) ON CONFLICT (id) DO NOTHING"
            try db.executeCached(sql: sql, arguments: ["c", 1])
            let first = db.changesCount
            try db.executeCached(sql: sql, arguments: ["c", 2])
            return (first, db.changesCount)
        }
        XCTAssertEqual([first, second], [1, 0], file: file, line: line)
        // A savepoint rolled back alone: the transaction's other work commits.
        try store.write { db in
            try db.execute(sql: "UPDATE conformance SET n = 7 WHERE id = 'c'")
            struct Refused: Error {}
            do {
                try db.inSavepoint {
                    try db.execute(sql: "UPDATE conformance SET n = 8 WHERE id = 'c'")
                    throw Refused()
                }
            } catch is Refused {}
            try db.inSavepoint {
                try db.execute(sql: "UPDATE conformance SET note = 'kept' WHERE id = 'c'")
                return .commit
            }
        }
        let c = try XCTUnwrap(
            try store.read { try Row.fetchOne($0, sql: "SELECT n, note FROM conformance WHERE id = 'c'") })
        XCTAssertEqual(c["n"] as Int, 7, file: file, line: line)
        XCTAssertEqual(c["note"] as String, "kept", file: file, line: line)
        // A failed write transaction leaves nothing behind.
        XCTAssertThrowsError(
            try store.write { db in
                try db.execute(sql: "UPDATE conformance SET n = 9 WHERE id = 'c'")
                try db.execute(sql: "INSERT INTO conformance (id) VALUES ('c')")
            }, file: file, line: line)
        XCTAssertEqual(
            try store.read { try Int.fetchOne($0, sql: "SELECT n FROM conformance WHERE id = 'c'") }, 7,
            file: file, line: line)
        XCTAssertTrue(try store.read { try $0.tableExists("conformance") }, file: file, line: line)
        XCTAssertFalse(try store.read { try $0.tableExists("no_such_table") }, file: file, line: line)
        try store.write { try $0.execute(sql: "DROP TABLE conformance") }
    }

    /// The async forms, as the services call them.
    static func checkAsync(_ store: any SQLStore, file: StaticString = #filePath, line: UInt = #line) async throws {
        try await store.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS conformance_async")
            try db.execute(sql: "CREATE TABLE conformance_async (id TEXT PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO conformance_async VALUES ('a'), ('b')")
        }
        let count = try await store.write { db -> Int in
            try db.execute(sql: "DELETE FROM conformance_async WHERE id = 'a'")
            return db.changesCount
        }
        XCTAssertEqual(count, 1, file: file, line: line)
        let left = try await store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM conformance_async") }
        XCTAssertEqual(left, 1, file: file, line: line)
        try await store.write { try $0.execute(sql: "DROP TABLE conformance_async") }
    }
}

/// The embedded engine through the same protocol (GRDB's `Database` behind `any SQLDatabase`).
final class SQLiteStoreConformanceTests: XCTestCase {
    func testTheSQLiteStoreDoesWhatTheFlowsAsk() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = SQLiteStore(try DurableStore.open(at: folder.appendingPathComponent("s.sqlite").path))
        try StoreConformance.check(store)
        try await StoreConformance.checkAsync(store)
    }
}
