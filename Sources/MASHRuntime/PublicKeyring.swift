import Foundation
import Logging
import Sealing
import Synchronization

/// The partners' public keys, read from the key folder once and kept in memory, so sealing a message inside a
/// write transaction never reads the disk. `refresh()` reloads the folders that changed (a new or rotated key)
/// and `run()` calls it every few seconds; a service also calls it on SIGHUP.
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

    /// Reads again the agency folders whose modification time changed since they were last read.
    public func refresh() throws {
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
        guard !changed.isEmpty || !removed.isEmpty else { return }
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
    }

    /// Refreshes every `interval` until cancelled.
    public func run(every interval: Duration = .seconds(2)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            do {
                try refresh()
            } catch {
                logger.error(
                    "public keys could not be reloaded; the previous ones stay", metadata: ["error": "\(error)"])
            }
        }
    }
}
