import Foundation

/// A file replaced whole and durably: the new content is written beside it, synced, and renamed over it, so a
/// reader (or a crash) sees the old file or the new one, never half of one.
public enum DurableFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func replace(_ path: String, with data: Data, mode: Int = 0o644) throws {
        let fresh = path + ".new"
        guard FileManager.default.createFile(atPath: fresh, contents: data, attributes: [.posixPermissions: mode])
        else { throw Failure(description: "\(fresh): cannot write") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: fresh))
        try handle.synchronize()
        try handle.close()
        guard rename(fresh, path) == 0 else {
            throw Failure(description: "\(path): cannot replace (\(String(cString: strerror(errno))))")
        }
    }
}
