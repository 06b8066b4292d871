import Foundation
import GRDB
import MASHConfig
import MASHService

/// The coordinator's store as everyone but the coordinator sees it: read-only queries over ids, times, codes
/// and counts (and sealed blobs for whoever holds the key). `mashctl` opens the file read-only through this;
/// the coordinator reads its own pool through it for metrics and health. The coordinator is the store's one
/// writer: what an operator changes reaches it as a message (docs/protocol.md, operator documents).
public final class HubReadModel: Sendable {
    public let reader: any SQLStore

    /// Reads the coordinator's own store (SQLite or PostgreSQL).
    public init(_ reader: any SQLStore) { self.reader = reader }

    /// Opens an existing store read-only; the file must exist.
    public init(readingAt path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: "", problem: "no coordinator store at this path")
        }
        var configuration = Configuration()
        configuration.readonly = true
        reader = SQLiteStore(try DatabasePool(path: path, configuration: configuration))
    }

    /// An adapter as the coordinator last heard from it.
    public struct AdapterState: Sendable, Equatable {
        public var agency: String
        public var lastHeartbeatAt: Date?
        public var pending: Int
        public var version: String?
        public var lastResponseAt: Date?
        /// The heartbeat interval it last gave.
        public var interval: TimeInterval?
    }

    public func adapters() throws -> [AdapterState] {
        try reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM adapter ORDER BY agency").map { row in
                AdapterState(
                    agency: row["agency"],
                    lastHeartbeatAt: (row["last_heartbeat_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    pending: row["pending"], version: row["version"],
                    lastResponseAt: (row["last_response_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    interval: row["heartbeat_interval"])
            }
        }
    }

    /// Which coordinator is active, on PostgreSQL (`coordinator_lease`, on the database's clock); nil on SQLite
    /// or before any coordinator has run.
    public func coordinatorLease() throws -> CoordinatorLeaseState? {
        try reader.read { db in
            guard db.engine == .postgres, try db.tableExists("coordinator_lease") else { return nil }
            return try Row.fetchOne(
                db,
                sql: """
                    SELECT holder, epoch,
                        CASE WHEN isfinite(expires_at) THEN EXTRACT(EPOCH FROM expires_at - clock_timestamp()) END AS left
                    FROM coordinator_lease WHERE id = 1
                    """
            ).map { CoordinatorLeaseState(holder: $0["holder"], epoch: $0["epoch"], secondsLeft: $0["left"]) }
        }
    }

    public func outboxBacklog() throws -> Int {
        try reader.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") ?? 0
        }
    }
}

/// The coordinator lease as the store shows it: who holds it, at which epoch, and for how many seconds more
/// (negative once run out; nil when it was handed over, or never taken).
public struct CoordinatorLeaseState: Sendable, Equatable {
    public var holder: String
    public var epoch: Int64
    public var secondsLeft: Double?
    public init(holder: String, epoch: Int64, secondsLeft: Double?) {
        self.holder = holder
        self.epoch = epoch
        self.secondsLeft = secondsLeft
    }
    public var held: Bool { (secondsLeft ?? -1) > 0 }
}
