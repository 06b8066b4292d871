import Coordinator
import Foundation
import GRDB
import XCTest

/// The coordinator's migrations, now one list for both engines, still build a SQLite store from nothing.
final class SQLiteMigrationsTests: XCTestCase {
    func testTheCoordinatorsMigrationsBuildASQLiteStore() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try CoordinatorStore(path: folder.appendingPathComponent("hub.sqlite").path)
        let tables = try store.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for table in ["enquiry", "request", "outbox", "inbox", "record_of_sharing", "challenge", "meeting_item"] {
            XCTAssertTrue(tables.contains(table), table)
        }
        XCTAssertEqual(CoordinatorStore.migrations.count, 19)
        XCTAssertThrowsError(
            try store.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO record_of_sharing (seq, at, sender, recipient, purpose, lawful_basis,
                            data_categories, message_id, enquiry_id, subject_ref, previous_hash, hash)
                        VALUES (1, '2026-12-07T09:00:00Z', 'a', 'b', 'p', 'l', 'd', 'm', 'e', 's', 'h0', 'h1')
                        """)
                try db.execute(sql: "UPDATE record_of_sharing SET hash = 'x'")
            })
    }
}
