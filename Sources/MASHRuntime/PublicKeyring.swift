import Foundation
import Logging
import Sealing
import Synchronization
import UnixSignals

/// The partners' public keys, read from the key folder once and kept in memory, so sealing a message inside a
/// write transaction never reads the disk. `refresh()` reloads the folders that changed (a new or rotated key);
/// `run()` calls it every 2 seconds, a pump when a message is signed with a key not trusted yet, and a service
/// on SIGHUP.
///
/// Layout: `<directory>/<agency>/*.jwk` (what `KeyDirectory` writes); the newest file name is the current key.
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

    public init(directory: String, logger: Logger) throws {
        self.directory = directory
        self.logger = logger
        try refresh()
    }

    /// The key new messages to `agency` are sealed with. A party not seen before is looked up on disk once.
    public func newestKey(of agency: String) throws -> AgencyPublicKey {
        if let key = state.withLock({ $0.newest[agency] }) { return key }
        let key = try KeyDirectory.newestPublicKey(agency: agency, in: directory)
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
            if known[name] != modified { changed[name] = modified }
        }
        let removed = Set(known.keys).subtracting(folders)
        guard !changed.isEmpty || !removed.isEmpty else { return false }
        let trusted = try TrustStore(directory: directory)
        var newest: [String: AgencyPublicKey] = [:]
        for name in changed.keys {
            if let key = try? KeyDirectory.newestPublicKey(agency: name, in: directory) { newest[name] = key }
        }
        state.withLock { state in
            state.trusted = trusted
            for name in removed {
                state.newest[name] = nil
                state.stamps[name] = nil
            }
            for (name, stamp) in changed {
                state.stamps[name] = stamp
                state.newest[name] = newest[name]
            }
        }
        if !known.isEmpty {
            logger.notice("public keys reloaded", metadata: ["changed": "\(changed.keys.sorted())"])
        }
        return true
    }

    /// Refreshes every `interval`, and at once on SIGHUP, until cancelled.
    public func run(every interval: Duration = .seconds(2)) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                for await _ in await UnixSignalsSequence(trapping: .sighup) { reload(because: "SIGHUP") }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    reload(because: nil)
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func reload(because signal: String?) {
        do {
            let changed = try refresh()
            if let signal, !changed { logger.notice("\(signal): public keys unchanged") }
        } catch {
            logger.error("public keys could not be reloaded; the previous ones stay", metadata: ["error": "\(error)"])
        }
    }
}
