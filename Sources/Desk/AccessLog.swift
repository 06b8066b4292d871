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
