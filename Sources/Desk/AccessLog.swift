import Foundation
import MASHCore
import NIOPosix
import Synchronization

/// The desk's own access log: one JSON line per sign-in (and refusal), view and action — who, when, what, which
/// item — appended and flushed to disk before the page is answered. It holds ids, never content.
final class AccessLog: Sendable {
    private let handle: Mutex<FileHandle>
    let path: String

    init(path: String) throws {
        self.path = path
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        self.handle = Mutex(handle)
    }

    /// Removes the lines recorded before `cutoff` (the retention schedule's `viewLogs`): the lines kept are
    /// written to a new file, synced, and renamed over the log, so a crash leaves the old log or the new one.
    /// Returns how many lines went.
    func prune(before cutoff: Date) async throws -> Int {
        try await NIOThreadPool.singleton.runIfActive { [self] in
            try handle.withLock { file in
                let lines = (FileManager.default.contents(atPath: path) ?? Data()).split(
                    separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
                let kept = lines.filter { line in
                    let entry = (try? JSONText.parse(Array(line))) as? [String: Any]
                    // A line that cannot be read is kept: the purge never loses what it does not understand.
                    guard let at = (entry?["at"] as? String).flatMap(Instant.parse) else { return true }
                    return at >= cutoff
                }
                guard kept.count < lines.count else { return 0 }
                var text = Data()
                for line in kept { text.append(contentsOf: line + [UInt8(ascii: "\n")]) }
                try DurableFile.replace(path, with: text, mode: 0o600)
                try file.close()
                file = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try file.seekToEnd()
                return lines.count - kept.count
            }
        }
    }

    /// `event`: sign-in, sign-in-refused, locked, sign-out, session-refused, csrf-refused, inbox, view,
    /// not-found, decide, acknowledge, already-done.
    func record(_ event: String, staff: String?, item: String? = nil, detail: String? = nil, at: Date) async {
        var entry: [String: Any] = ["at": Instant.format(at), "event": event, "staff": staff ?? "-"]
        if let item { entry["item"] = item }
        if let detail { entry["detail"] = detail }
        let line = JSONText.encode(entry) + [UInt8(ascii: "\n")]
        // The write and fsync run on NIO's blocking pool, off the cooperative threads.
        try? await NIOThreadPool.singleton.runIfActive { [self] in
            try self.handle.withLock { file in
                try file.write(contentsOf: line)
                try file.synchronize()
            }
        }
    }
}
