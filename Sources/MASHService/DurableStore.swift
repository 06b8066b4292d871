import Foundation
import GRDB

/// How the services open the SQLite file that holds their state.
public enum DurableStore {
    /// Opens (and creates, in a folder private to the owner) a database in WAL mode with `synchronous = FULL`:
    /// every commit is on disk before the delivery that caused it is acked, so an acked message survives a
    /// power cut, not only a crash of the process. GRDB's WAL default is NORMAL, which does not sync commits.
    public static func open(at path: String) throws -> DatabasePool {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // After the pool's own WAL set-up, which sets NORMAL; the pool keeps this one writer connection.
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
        return pool
    }
}
