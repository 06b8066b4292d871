import Foundation
import Logging
import Sealing
import Synchronization
import UnixSignals

/// The partners' public keys, read from the key folder once and kept in memory, so sealing a message inside a
/// write transaction never reads the disk. `refresh()` reloads the folders that changed (a new, rotated or
/// removed key). `refreshIfChanged()`, which a pump calls before each batch, does so only when the kernel has
/// reported a change in the folder since the last look (inotify: one non-blocking read, no directory listing),
/// so a key added or removed before a message arrives applies to that message. `run()` also looks every
/// 2 seconds and on SIGHUP.
///
/// Layout: `<directory>/<agency>/*.jwk` (what `KeyDirectory` writes); the newest file name not revoked in
/// `<directory>/revocations.json` is the current key.
public final class PublicKeyring: Sendable {
    public let directory: String
    let logger: Logger

    private struct State {
        var newest: [String: AgencyPublicKey] = [:]
        var trusted = TrustStore()
        /// Each agency folder's modification time when it was last read.
        var stamps: [String: Date] = [:]
    }
    private let state = Mutex(State())
    /// Nil where inotify is not available: every `refreshIfChanged()` then looks at the folders.
    private let watch: FolderWatch?
    /// Held while looking, so a batch never opens with keys another pump is halfway through reloading.
    private let looking = Mutex(())

    public init(directory: String, logger: Logger) throws {
        self.directory = directory
        self.logger = logger
        watch = FolderWatch(directory)
        if watch == nil { logger.notice("inotify is not available: the key folder is listed before every batch") }
        try refresh()
    }

    /// Reloads the keys if anything in the key folder changed since the last look; true when keys changed.
    public func refreshIfChanged() -> Bool {
        looking.withLock { _ in
            if let watch, !watch.changed() { return false }
            return lookedAt()
        }
    }

    /// Looks at the key folder now, whatever the kernel reported (the 2 s watch, SIGHUP, a key not trusted
    /// yet); true when keys changed. A folder that cannot be read is logged and the keys in hand stay.
    public func reload() -> Bool {
        looking.withLock { _ in lookedAt() }
    }

    private func lookedAt() -> Bool {
        do {
            return try refresh()
        } catch {
            logger.error("public keys could not be reloaded; the previous ones stay", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The key new messages to `agency` are sealed with. A party not seen before is looked up on disk once.
    public func newestKey(of agency: String) throws -> AgencyPublicKey {
        if let key = state.withLock({ $0.newest[agency] }) { return key }
        let key = try KeyDirectory.newestPublicKey(
            agency: agency, in: directory, revocations: state.withLock { $0.trusted.revocations })
        state.withLock { $0.newest[agency] = key }
        return key
    }

    /// Every public key in the folder, by `kid`: whose signatures are accepted.
    public var trusted: TrustStore { state.withLock { $0.trusted } }

    /// Reads again the agency folders whose modification time changed since they were last read; true when
    /// any had.
    @discardableResult
    public func refresh() throws -> Bool {
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        var changed: [String: Date] = [:]
        let known = state.withLock { $0.stamps }
        for name in folders {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                attributes[.type] as? FileAttributeType == .typeDirectory,
                let modified = attributes[.modificationDate] as? Date
            else { continue }
            if known[name] != modified {
                changed[name] = modified
                watch?.add(path)
            }
        }
        // The revocation list is stamped like a folder: a key revoked changes what is trusted and what is newest.
        let listStamp = Self.revocationsStamp
        let revocationFile = KeyRevocations.file(in: directory)
        let listModified =
            (try? FileManager.default.attributesOfItem(atPath: revocationFile))?[.modificationDate] as? Date
            ?? .distantPast
        let listChanged = known[listStamp] != listModified
        let removed = Set(known.keys).subtracting(folders + [listStamp])
        guard !changed.isEmpty || !removed.isEmpty || listChanged else { return false }
        let revocations = try KeyRevocations.load(directory: directory)
        let trusted = try TrustStore(directory: directory, revocations: revocations)
        var newest: [String: AgencyPublicKey] = [:]
        let reread =
            listChanged
            ? Set(changed.keys).union(known.keys).subtracting(removed).subtracting([listStamp]) : Set(changed.keys)
        for name in reread {
            if let key = try? KeyDirectory.newestPublicKey(agency: name, in: directory, revocations: revocations) {
                newest[name] = key
            }
        }
        state.withLock { state in
            state.trusted = trusted
            for name in removed {
                state.newest[name] = nil
                state.stamps[name] = nil
            }
            for (name, stamp) in changed {
                state.stamps[name] = stamp
            }
            for name in reread {
                state.newest[name] = newest[name]
            }
            state.stamps[listStamp] = listModified
        }
        if !known.isEmpty {
            logger.notice("public keys reloaded", metadata: ["changed": "\(changed.keys.sorted())"])
        }
        return true
    }

    /// The stamp of the revocation list among the folders' (a name no agency folder can have).
    static let revocationsStamp = "/" + KeyRevocations.fileName

    /// Refreshes every `interval`, and at once on SIGHUP, until cancelled.
    public func run(every interval: Duration = .seconds(2)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) where !reload() {
                    logger.notice("SIGHUP: public keys unchanged")
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    _ = reload()
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

}

/// Linux inotify on a folder and the folders in it: whether anything was created, removed, renamed or written
/// there since the last call.
final class FolderWatch: Sendable {
    private let descriptor: Int32
    private static let events = UInt32(
        IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF
            | IN_MOVE_SELF)

    init?(_ directory: String) {
        descriptor = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        guard inotify_add_watch(descriptor, directory, Self.events) >= 0 else {
            close(descriptor)
            return nil
        }
    }

    deinit { close(descriptor) }

    /// Watches one more folder (again is harmless: the kernel keeps one watch per folder).
    func add(_ path: String) { _ = inotify_add_watch(descriptor, path, Self.events) }

    /// Drains what the kernel reported; true when there was anything (or the queue overflowed).
    func changed() -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { buffer in
            var any = false
            while read(descriptor, buffer.baseAddress, buffer.count) > 0 { any = true }
            return any
        }
    }
}
