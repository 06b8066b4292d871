import Foundation
import Logging
import MASHPostgres
import MASHRuntime
import MASHService
import Sealing

/// Two coordinators on one PostgreSQL store: the one holding the lease is active, the other is the standby.
///
/// The standby waits in `becomeActive` (it consumes nothing, fires no timer and relays nothing) until the
/// lease has been left unrenewed for its term, takes it with the next epoch and fences every write of its own
/// with it; then it starts as any coordinator does, from the store: the outbox still unpublished is relayed,
/// the timers that came due while nobody held the lease fire at the first tick, and the deliveries the old
/// holder had not acked come again from the broker and meet the inbox. The active one renews the lease at a
/// fifth of its term; a renewal refused (`LeaseLost`: it was paused or cut off past the term and the standby
/// took over) or not possible for a whole term stops it, and every write it tried in between was refused by
/// the fence, so nothing it did after losing the lease was committed or acked.
extension Coordinator {
    /// The content keys in a PostgreSQL database (the store's, or `--postgres-keys`'), made on first use.
    public static func postgresContentKeys(_ keys: PostgresStore, wrapping: DataKeyring) throws -> ContentKeys {
        try keys.migrate([("content keys v1", { try ContentKeys.migration($0) })])
        // PostgreSQL keeps a deleted row in its page until a vacuum: a shredded key must not wait for autovacuum.
        return try ContentKeys(location: keys.conninfo, store: keys, wrapping: wrapping) {
            try keys.executeOutsideTransaction("VACUUM content_key")
        }
    }

    /// Waits until this coordinator holds the lease, then fences its writes with it and returns the epoch;
    /// returns nil at once on SQLite (one coordinator, no lease).
    @discardableResult
    public func becomeActive() async throws -> Int64? {
        guard let lease else { return nil }
        if let epoch = activeEpoch.withLock({ $0 }) { return epoch }
        var waiting = false
        while true {
            try Task.checkCancellation()
            do {
                if let epoch = try await lease.acquireOffPool() {
                    store.fence(with: lease.check(epoch: epoch))
                    activeEpoch.withLock { $0 = epoch }
                    logger.notice("active: this coordinator holds the lease", metadata: ["epoch": "\(epoch)"])
                    return epoch
                }
                if !waiting {
                    let holder = (try? store.readModel.coordinatorLease()?.holder) ?? "another coordinator"
                    logger.notice("standby: waiting for the lease", metadata: ["holder": "\(holder)"])
                    waiting = true
                }
            } catch let error as PostgresError {
                // The database is away (a failover in progress): keep trying, the lease is taken from the new primary.
                logger.warning("standby: cannot reach the store's database", metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: lease.term / 5)
        }
    }

    /// After a graceful stop (every service ended, the outbox flushed): gives the lease up, so the standby takes
    /// over at its next look (a fifth of the term) instead of a whole term later. Does nothing on SQLite, or when
    /// the lease is already lost; a database that cannot be reached leaves the lease to run out.
    public func handOver() async {
        guard let lease, let epoch = activeEpoch.withLock({ $0 }) else { return }
        activeEpoch.withLock { $0 = nil }
        do {
            try await CoordinatorLease.offPool { try lease.release(epoch: epoch) }
            logger.notice("the lease is handed over: the standby may take it now", metadata: ["epoch": "\(epoch)"])
        } catch {
            logger.warning("the lease could not be handed over; it runs out", metadata: ["error": "\(error)"])
        }
    }

    /// Renews the lease at a fifth of its term until shutdown; throws `LeaseLost` once it is gone (or could not
    /// be renewed for a whole term), which stops the coordinator.
    func holdLease(_ lease: CoordinatorLease) async throws {
        guard let epoch = activeEpoch.withLock({ $0 }) else { throw LeaseLost(holder: lease.holder, epoch: 0) }
        var renewed = ContinuousClock.now
        while !Task.isCancelled {
            try await Task.sleep(for: lease.term / 5)
            do {
                try await lease.renewOffPool(epoch: epoch)
                renewed = .now
            } catch let lost as LeaseLost {
                logger.error(
                    "the lease was lost: another coordinator is active; stopping", metadata: ["epoch": "\(epoch)"])
                throw lost
            } catch {
                guard ContinuousClock.now - renewed < lease.term else {
                    logger.error(
                        "the lease could not be renewed for its whole term; stopping", metadata: ["error": "\(error)"])
                    throw LeaseLost(holder: lease.holder, epoch: epoch)
                }
                logger.warning("cannot renew the lease yet", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension CoordinatorStore {
    /// Every write transaction first checks `check` (the lease), on PostgreSQL.
    func fence(with check: @escaping @Sendable (any SQLDatabase) throws -> Void) {
        (sql as? PostgresStore)?.fence(with: check)
    }
}

extension CoordinatorLease {
    /// A name for this process: host, pid and start time (a restarted coordinator is a new holder).
    public static func holderName() -> String {
        let host = ProcessInfo.processInfo.hostName
        return "\(host)/\(getpid())/\(Int(Date().timeIntervalSince1970))"
    }

    /// `acquire`, off the cooperative pool (it may wait a second for a lock).
    func acquireOffPool() async throws -> Int64? { try await Self.offPool { try self.acquire() } }

    func renewOffPool(epoch: Int64) async throws { try await Self.offPool { try self.renew(epoch: epoch) } }

    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}
