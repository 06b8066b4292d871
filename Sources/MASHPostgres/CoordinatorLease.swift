import Foundation
import GRDB
import MASHService

/// Which of two coordinators is active: a row in the store's own database (`coordinator_lease`), held for a
/// term on the database's clock and renewed well inside it, with a fencing epoch that goes up at every change
/// of holder. Every write transaction of the active coordinator first checks, with a share lock on the row,
/// that it still holds it (`check`): a holder that was paused past its term (SIGSTOP, a stalled VM) and resumes
/// finds its first commit refused, `LeaseLost`, and stops; the standby's takeover waits for any transaction
/// that checked before it, so no commit of the old holder lands after the new one took over.
///
/// Why a row, not RabbitMQ's single active consumer nor an advisory lock: SAC fences the queues only, not the
/// timers and the outbox relay, and follows the broker's view of a connection; an advisory lock belongs to a
/// session, which a paused process keeps open, so the standby could never take over from a stopped-but-alive
/// holder. The row's expiry is the database's own time, so the two hosts' clocks do not matter.
public final class CoordinatorLease: Sendable {
    public let holder: String
    public let term: Duration
    let store: PostgresStore

    /// `holder` names this process (host, pid and start time): a restarted coordinator is a new holder.
    public init(store: PostgresStore, holder: String, term: Duration = .seconds(5)) {
        self.store = store
        self.holder = holder
        self.term = term
    }

    public static let schema = """
        CREATE TABLE IF NOT EXISTS coordinator_lease (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            holder TEXT NOT NULL,
            epoch BIGINT NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        );
        INSERT INTO coordinator_lease (id, holder, epoch, expires_at) VALUES (1, '', 0, '-infinity')
        ON CONFLICT DO NOTHING;
        """

    var seconds: Double {
        Double(term.components.seconds) + Double(term.components.attoseconds) / 1e18
    }

    /// Takes the lease if it has expired; the new epoch, or nil while another holds it. Waits at most a second
    /// for a transaction of the current holder that checked it.
    public func acquire() throws -> Int64? {
        try store.write { db in
            try db.execute(sql: "SET LOCAL lock_timeout = '1s'")
            try db.execute(sql: SchemaLock.lease.sql)
            try db.execute(sql: Self.schema)
            return try Int64.fetchOne(
                db,
                sql: """
                    UPDATE coordinator_lease SET holder = ?, epoch = epoch + 1,
                        expires_at = clock_timestamp() + make_interval(secs => ?)
                    WHERE id = 1 AND expires_at < clock_timestamp() RETURNING epoch
                    """, arguments: [holder, seconds])
        }
    }

    /// Renews the lease held at `epoch`; throws `LeaseLost` when another holder has it.
    public func renew(epoch: Int64) throws {
        try store.write { db in
            try db.execute(
                sql: """
                    UPDATE coordinator_lease SET expires_at = clock_timestamp() + make_interval(secs => ?)
                    WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > clock_timestamp()
                    """, arguments: [seconds, holder, epoch])
            guard db.changesCount == 1 else { throw LeaseLost(holder: holder, epoch: epoch) }
        }
    }

    /// Gives the lease up at once (a graceful stop, once every write is done), so the standby takes it at its next
    /// look rather than a term later. Nothing happens when `epoch` is no longer this holder's.
    public func release(epoch: Int64) throws {
        try store.write { db in
            try db.execute(
                sql: """
                    UPDATE coordinator_lease SET expires_at = '-infinity'
                    WHERE id = 1 AND holder = ? AND epoch = ?
                    """, arguments: [holder, epoch])
        }
    }

    /// The fence for `PostgresStore.fence(with:)`: refuses a transaction unless the lease is held at `epoch`.
    public func check(epoch: Int64) -> @Sendable (any SQLDatabase) throws -> Void {
        { [holder] db in
            let held = try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT true FROM coordinator_lease
                        WHERE id = 1 AND holder = ? AND epoch = ? AND expires_at > clock_timestamp() FOR SHARE
                        """),
                arguments: [holder, epoch])
            guard held == true else { throw LeaseLost(holder: holder, epoch: epoch) }
        }
    }
}

/// This coordinator no longer holds the lease: it must stop at once (the standby has, or will have, taken over).
public struct LeaseLost: Error, CustomStringConvertible {
    public var holder: String
    public var epoch: Int64
    public init(holder: String, epoch: Int64) {
        self.holder = holder
        self.epoch = epoch
    }
    public var description: String {
        "\(holder) no longer holds the coordinator lease (epoch \(epoch)): another coordinator is active"
    }
}
