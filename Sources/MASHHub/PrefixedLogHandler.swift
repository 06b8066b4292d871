import Foundation
import Logging
import Synchronization

/// One process, many services: each log line is prefixed by the service it comes from (`police        | …`),
/// as `make run` has always shown them, and written whole to standard output.
struct PrefixedLogHandler: LogHandler {
    private static let output = Mutex(())

    let tag: String
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, tag: String) {
        self.label = label
        self.tag = tag
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let details = merged.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        Self.write(tag, "\(Self.timestamp()) \(event.level) \(label): \(event.message)\(details)")
    }

    /// Writes one line under a service's tag (the "ready" lines come this way too).
    static func write(_ tag: String, _ line: String) {
        let text = tag.padding(toLength: max(14, tag.count), withPad: " ", startingAt: 0) + "| " + line + "\n"
        output.withLock { _ in FileHandle.standardOutput.write(Data(text.utf8)) }
    }

    private static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return String(format: "%02d:%02d:%02d", parts.tm_hour, parts.tm_min, parts.tm_sec)
    }
}
