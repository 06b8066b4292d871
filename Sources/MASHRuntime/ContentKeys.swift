import Foundation
import GRDB
import MASHService
import Sealing
import Synchronization

/// Crypto-shredding: each record's content (an enquiry with its responses and decision, a DAN, a request an
/// adapter holds, a desk item) is sealed under a data key of its own. The key is kept wrapped by the service's
/// data-at-rest key in a key store, a SQLite file (or PostgreSQL database) apart from the content store and backed
/// up apart. Purging a
/// record deletes its key, so every copy of the content — including the content store in an old backup — can
/// no longer be opened.
///
/// A key is committed (fully synced) before any content sealed under it, so content never outlives a crash
/// without its key; a crash between the two leaves only an unused key, which `shred` or `sweep` removes.
public final class ContentKeys: Sendable {
    /// The key id inside every value sealed under a content key (`DataKeyring`'s format names its key).
    public static let keyID = "content"

    /// The key store's file, or (PostgreSQL) its database.
    public let path: String
    private let store: any SQLStore
    private let afterShred: @Sendable () throws -> Void
    private let wrapping: DataKeyring
    private let cache = Mutex<[String: DataKeyring]>([:])
    static let cacheLimit = 4096

    /// The key store of a service whose content store is `store`: at `keyStore` when configured, else beside it.
    public convenience init(forStore store: String, keyStore: String?, wrapping: DataKeyring) throws {
        try self.init(path: keyStore ?? Self.path(besideStore: store), wrapping: wrapping)
    }

    /// The key store beside a content store: `adapter.sqlite` → `adapter.keys.sqlite`.
    public static func path(besideStore store: String) -> String {
        let url = URL(fileURLWithPath: store)
        let name = url.deletingPathExtension().lastPathComponent + ".keys.sqlite"
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }

    public convenience init(path: String, wrapping: DataKeyring) throws {
        let pool = try DurableStore.open(at: path)
        // A deleted key is overwritten with zeros in the file, not left in a free page.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA secure_delete = ON") }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { try Self.migration($0) }
        try migrator.migrate(pool)
        try self.init(location: path, store: SQLiteStore(pool), wrapping: wrapping) {
            // No older copy of a deleted key's page lingers in the write-ahead log.
            try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        }
    }

    /// A key store on another engine (the coordinator's on PostgreSQL, in a database of its own), its table
    /// made by `migration`. `afterShred` runs once deleted keys are committed (PostgreSQL: `VACUUM`, so no dead
    /// row keeps them in a data page).
    public init(
        location: String, store: any SQLStore, wrapping: DataKeyring,
        afterShred: @escaping @Sendable () throws -> Void
    ) throws {
        path = location
        self.store = store
        self.wrapping = wrapping
        self.afterShred = afterShred
        try checkWrapping()
    }

    /// Refuses a data-at-rest key that does not open the keys already stored (a second coordinator host that made
    /// a key of its own, a key folder restored from elsewhere): started anyway, the service would dead-letter
    /// every message about a record it holds.
    private func checkWrapping() throws {
        guard
            let scope = try store.read({ try String.fetchOne($0, sql: "SELECT scope FROM content_key LIMIT 1") })
        else { return }
        do {
            _ = try keyring(for: scope, create: false)
        } catch let error as SealingError where error.code == .decryptionFailed || error.code == .unknownKey {
            throw WrongDataAtRestKey(keyStore: path.hasPrefix("postgres") ? "its PostgreSQL database" : path)
        }
    }

    /// The key store's one table.
    public static let migrationID = "v1"
    public static func migration(_ db: any SQLDatabase) throws {
        try db.execute(
            sql: """
                CREATE TABLE content_key (
                    scope TEXT PRIMARY KEY,        -- the record the key seals: enquiry:<id>, request:<id> …
                    wrapped BLOB NOT NULL,         -- 32 random bytes, sealed with the data-at-rest key
                    created_at REAL NOT NULL
                );
                """)
    }

    /// Seals `plaintext` under `scope`'s key, made (and committed) on first use.
    public func seal(_ plaintext: [UInt8], scope: String, context: [UInt8]) throws -> [UInt8] {
        try keyring(for: scope, create: true)!.seal(plaintext, context: context)
    }

    /// Opens what `seal` sealed; throws `ContentShredded` when the scope's key is gone. A value sealed before
    /// records had keys of their own (under the data-at-rest key itself) opens with that key.
    public func open(_ sealed: [UInt8], scope: String, context: [UInt8]) throws -> [UInt8] {
        guard DataKeyring.keyID(of: sealed) == Self.keyID else { return try wrapping.open(sealed, context: context) }
        guard let keyring = try keyring(for: scope, create: false) else { throw ContentShredded(scope: scope) }
        return try keyring.open(sealed, context: context)
    }

    /// Whether `scope` still has its key.
    public func hasKey(_ scope: String) throws -> Bool { try keyring(for: scope, create: false) != nil }

    /// Deletes the keys of `scopes` (committed and synced before returning): their content can never be opened
    /// again. Scopes without a key are ignored, so a purge that stopped half way can run again. The write-ahead
    /// log is then checkpointed and truncated, so no older copy of the page lingers in it.
    public func shred(_ scopes: [String]) throws {
        guard !scopes.isEmpty else { return }
        try store.write { db in
            for scope in scopes {
                try db.execute(sql: "DELETE FROM content_key WHERE scope = ?", arguments: [scope])
            }
        }
        try afterShred()
        cache.withLock { cache in for scope in scopes { cache[scope] = nil } }
    }

    /// Deletes keys older than `before` whose scope `isUsed` says no record holds: left by a crash between a
    /// key's commit and its content's. Returns how many went.
    public func sweep(before: Date, isUsed: (String) throws -> Bool) throws -> Int {
        let candidates = try store.read { db in
            try String.fetchAll(
                db, sql: "SELECT scope FROM content_key WHERE created_at < ?",
                arguments: [before.timeIntervalSince1970])
        }
        let unused = try candidates.filter { try !isUsed($0) }
        try shred(unused)
        return unused.count
    }

    public var count: Int {
        get throws { try store.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM content_key") ?? 0 } }
    }

    private func keyring(for scope: String, create: Bool) throws -> DataKeyring? {
        if let cached = cache.withLock({ $0[scope] }) { return cached }
        let context = Array("content-key:\(scope)".utf8)
        let wrapped = try store.read { db in
            try Data.fetchOne(db, sql: "SELECT wrapped FROM content_key WHERE scope = ?", arguments: [scope])
        }
        let key: DataKeyring.DataKey
        if let wrapped {
            key = try wrapping.unwrap(Array(wrapped), id: Self.keyID, context: context)
        } else {
            guard create else { return nil }
            let made = try DataKeyring.DataKey.generate(id: Self.keyID)
            let sealed = try wrapping.wrap(made, context: context)
            let inserted = try store.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO content_key (scope, wrapped, created_at) VALUES (?, ?, ?)
                        ON CONFLICT (scope) DO NOTHING
                        """,
                    arguments: [scope, Data(sealed), Date().timeIntervalSince1970])
                return db.changesCount == 1
            }
            // Another caller made the scope's key first: both use the one stored.
            guard inserted else { return try keyring(for: scope, create: false) }
            key = made
        }
        let keyring = DataKeyring(current: key)
        cache.withLock { cache in
            // A record's key is wanted while it is being worked on; a long-running service must not keep every
            // key it ever made, so the cache starts again when it is full.
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[scope] = keyring
        }
        return keyring
    }
}

/// The data-at-rest key a service was started with is not the one that wrapped the record keys it holds.
public struct WrongDataAtRestKey: Error, CustomStringConvertible {
    public var keyStore: String
    public var description: String {
        "the data-at-rest key does not open the record keys in \(keyStore): they were sealed under another one."
            + " Start with the data-at-rest.key that sealed them (on a second coordinator host, a copy of the"
            + " first host's keys/coordinator/data-at-rest.key); nothing was changed"
    }
}

/// The content of `scope` was purged: its data key is gone.
public struct ContentShredded: Error, CustomStringConvertible {
    public var scope: String
    public var description: String { "the content of \(scope) was purged (its data key is shredded)" }
}
