import Coordinator
import Foundation
import GRDB
import MASHPostgres
import MASHReadModel
import MASHRuntime
import MASHService
import MASHTesting
import XCTest

/// The PostgreSQL engine and the coordinator lease against the real pair (a primary with its synchronous
/// standby). Run by Tests/Deploy/check-postgres.sh while the pair is up (it sets MASH_PG_PRIMARY_URL and
/// MASH_PG_CREDENTIALS); without them every test fails, saying so.
final class PostgresStoreTests: XCTestCase {
    /// The coordinator role's URL with a passfile of its own (no password in the URL or the environment).
    static func conninfo() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["MASH_PG_PRIMARY_URL"], let credentials = environment["MASH_PG_CREDENTIALS"]
        else {
            throw MissingServer(
                "MASH_PG_PRIMARY_URL and MASH_PG_CREDENTIALS are not set: run Tests/Deploy/check-postgres.sh")
        }
        let password = try String(contentsOfFile: credentials + "/mash_coordinator", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let passfile = FileManager.default.temporaryDirectory.appendingPathComponent("mash-pgpass-\(getpid())")
        try Data("*:*:mash:mash_coordinator:\(password)\n".utf8).write(to: passfile)
        chmod(passfile.path, 0o600)
        return url + "&passfile=" + passfile.path
    }

    struct MissingServer: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A schema of this test's own (made afresh), as the search path of every connection to `conninfo`.
    static func conninfo(schema: String) throws -> String {
        let base = try conninfo()
        try PostgresStore(conninfo: base).write { db in
            try db.execute(sql: "DROP SCHEMA IF EXISTS \(schema) CASCADE; CREATE SCHEMA \(schema)")
        }
        return base + "&options=-csearch_path%3D" + schema
    }

    func testTheEngineDoesWhatTheFlowsAsk() async throws {
        let store = try PostgresStore(conninfo: Self.conninfo(schema: "conformance_test"))
        try StoreConformance.check(store)
        try await StoreConformance.checkAsync(store)
    }

    func testTheCoordinatorsMigrationsApplyOnceAndTheLedgerIsAppendOnly() throws {
        let conninfo = try Self.conninfo(schema: "migrations_test")
        let postgres = try PostgresStore(conninfo: conninfo)
        let store = try CoordinatorStore(postgres: postgres)
        XCTAssertEqual(try postgres.appliedMigrations().count, CoordinatorStore.migrations.count)
        // A second coordinator opening the same database applies nothing twice.
        _ = try CoordinatorStore(postgres: try PostgresStore(conninfo: conninfo))
        XCTAssertEqual(try postgres.appliedMigrations().count, CoordinatorStore.migrations.count)
        try store.write { db in
            try db.execute(sql: StoreConformance.ledgerEntry)
        }
        for change in ["UPDATE record_of_sharing SET hash = 'x'", "DELETE FROM record_of_sharing"] {
            XCTAssertThrowsError(try store.write { try $0.execute(sql: change) }) { error in
                XCTAssertTrue("\(error)".contains("append-only"), "\(error)")
            }
        }
        XCTAssertEqual(try store.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record_of_sharing") }, 1)
        // The inbox remembers an id once.
        let remembered = try store.write { db in
            [
                try Inbox.rememberForTest(db, "m-1"), try Inbox.rememberForTest(db, "m-1"),
                try Inbox.rememberForTest(db, "m-2"),
            ]
        }
        XCTAssertEqual(remembered, [true, false, true])
    }

    /// A coordinator and its standby started together on an empty database both migrate it (and look for the
    /// lease): neither fails on the other's CREATE TABLE, and every migration is applied once.
    func testTwoCoordinatorsMigratingAtOnceBothSucceed() throws {
        let conninfo = try Self.conninfo(schema: "migrations_race_test")
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { n in
            do {
                let postgres = try PostgresStore(conninfo: conninfo)
                _ = try CoordinatorStore(postgres: postgres)
                _ = try CoordinatorLease(store: postgres, holder: "racer \(n)", term: .seconds(30)).acquire()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.value, [])
        let postgres = try PostgresStore(conninfo: conninfo)
        XCTAssertEqual(try postgres.appliedMigrations().count, CoordinatorStore.migrations.count)
        XCTAssertEqual(try HubReadModel(postgres).coordinatorLease()?.epoch, 1)
    }

    func testTheLeaseIsTakenOnlyWhenExpiredAndItsOldHolderIsFenced() throws {
        let conninfo = try Self.conninfo(schema: "lease_test")
        let data = try PostgresStore(conninfo: conninfo)
        try data.write { try $0.execute(sql: "CREATE TABLE fenced (holder TEXT NOT NULL)") }
        let a = CoordinatorLease(store: try PostgresStore(conninfo: conninfo), holder: "a", term: .seconds(2))
        let b = CoordinatorLease(store: try PostgresStore(conninfo: conninfo), holder: "b", term: .seconds(2))
        let epochA = try XCTUnwrap(try a.acquire())
        XCTAssertNil(try b.acquire(), "b took a lease a holds")
        try a.renew(epoch: epochA)
        data.fence(with: a.check(epoch: epochA))
        try data.write { try $0.execute(sql: "INSERT INTO fenced VALUES ('a')") }

        // a stops renewing (paused): b takes over once the term is over, with a higher epoch.
        let deadline = Date().addingTimeInterval(10)
        var epochB: Int64?
        while epochB == nil, Date() < deadline {
            epochB = try b.acquire()
            if epochB == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        let taken = try XCTUnwrap(epochB, "b never took the expired lease")
        XCTAssertGreaterThan(taken, epochA)
        XCTAssertEqual(try HubReadModel(data).coordinatorLease()?.holder, "b")

        // a resumes: its next write and its renewal are refused.
        XCTAssertThrowsError(try data.write { try $0.execute(sql: "INSERT INTO fenced VALUES ('a')") }) {
            XCTAssertTrue($0 is LeaseLost, "\($0)")
        }
        XCTAssertThrowsError(try a.renew(epoch: epochA)) { XCTAssertTrue($0 is LeaseLost, "\($0)") }
        data.fence(with: b.check(epoch: taken))
        try data.write { try $0.execute(sql: "INSERT INTO fenced VALUES ('b')") }
        XCTAssertEqual(
            try data.read { try String.fetchAll($0, sql: "SELECT holder FROM fenced ORDER BY holder") }, ["a", "b"])

        // What mashctl status shows: b holds it; handed over, nobody does, and a may not hand over b's lease.
        let shown = try XCTUnwrap(try HubReadModel(data).coordinatorLease())
        XCTAssertEqual(shown.holder, "b")
        XCTAssertEqual(shown.epoch, taken)
        XCTAssertTrue(shown.held, "\(shown)")
        try a.release(epoch: epochA)
        XCTAssertEqual(try HubReadModel(data).coordinatorLease()?.held, true, "a released b's lease")
        try b.release(epoch: taken)
        let released = try XCTUnwrap(try HubReadModel(data).coordinatorLease())
        XCTAssertFalse(released.held)
        XCTAssertNil(released.secondsLeft)
        XCTAssertEqual(try a.acquire(), taken + 1, "the released lease was not free at once")
    }
}

extension Inbox {
    static func rememberForTest(_ db: any SQLDatabase, _ id: String) throws -> Bool {
        try remember(db, messageID: id, queue: "q", outcome: "test", now: Date())
    }
}
