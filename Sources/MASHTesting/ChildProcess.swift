import Foundation

/// A service started as its own process (for `kill -9` tests), its output going to a log file.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let log: String
    private let exitStatus = Locked<Int32?>(nil)

    /// Starts `executable` with `arguments`; standard output and error go to `log`, appended.
    public init(_ executable: String, _ arguments: [String], log: String) throws {
        self.log = log
        pid = try Shell.spawn(executable, arguments, output: log, flags: O_WRONLY | O_CREAT | O_APPEND)
    }

    /// Waits until the log holds `text` (for example a "ready" line), failing after `limit`.
    public func waitFor(_ text: String, occurrences: Int = 1, within limit: Duration) async throws {
        let log = self.log
        try await within(limit, "'\(text)' in \(log)") {
            while true {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if output.components(separatedBy: text).count - 1 >= occurrences { return }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// Whether the process has ended (reaped here, its status kept for `stop`).
    public var hasExited: Bool {
        exitStatus.withLock { exitStatus in
            if exitStatus != nil { return true }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return false }
            exitStatus = Shell.exitCode(status)
            return true
        }
    }

    /// The exit status, once the process has ended.
    public var exitCode: Int32? { hasExited ? exitStatus.value : nil }

    /// Sends `signal` and waits for the process to end; returns its exit status (128 + signal if killed).
    @discardableResult
    public func stop(_ signal: Int32 = SIGKILL) -> Int32 {
        exitStatus.withLock { exitStatus in
            if let exitStatus { return exitStatus }
            kill(pid, signal)
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let code = Shell.exitCode(status)
            exitStatus = code
            return code
        }
    }

    /// The built executable of this package (`swift build` puts it in .build/debug).
    public static func built(_ product: String) -> String { Repository.path(".build/debug/\(product)") }
}
