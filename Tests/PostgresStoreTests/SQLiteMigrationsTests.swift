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
                try db.execute(sql: StoreConformance.ledgerEntry)
                try db.execute(sql: "UPDATE record_of_sharing SET hash = 'x'")
            })
    }
}
