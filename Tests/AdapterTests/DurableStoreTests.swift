import GRDB
import MASHService
import MASHTesting
import Testing

@Suite("Service stores")
struct DurableStoreTests {
    @Test("a service's store syncs every commit (WAL with synchronous FULL, not GRDB's NORMAL)")
    func synchronousFull() throws {
        let folder = try ScratchDirectory("durable-store")
        defer { folder.remove() }
        let pool = try DurableStore.open(at: folder.file("state/store.sqlite"))
        #expect(try pool.write { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
        // 2 is FULL (0 OFF, 1 NORMAL, 3 EXTRA).
        #expect(try pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 2)
    }
}
