import AMQP
import Foundation

/// The private RabbitMQ node that `make test` starts (scripts/broker.sh), as tests see it through the
/// environment. Broker tests never skip: when the environment is missing they fail with a message that says
/// how to run them.
public struct TestBroker: Sendable {
    public struct Missing: Error, CustomStringConvertible {
        public var variable: String
        public init(variable: String) { self.variable = variable }
        public var description: String {
            "\(variable) is not set. These tests need what `make test` sets up (the private RabbitMQ node, the "
                + "interop virtual environment): run them with `make test`, or see scripts/test.sh for the variables."
        }
    }

    /// amqp:// URL of the `mash` vhost as the administrator.
    public var url: String
    /// amqps:// URL of the same, for TLS tests.
    public var tlsURL: String
    public var caFile: String
    public var clientCertificateFile: String
    public var clientKeyFile: String
    public var credentialsDirectory: String
    public var controlScript: String
    /// http:// URL of the node's management API.
    public var managementURL: String

    /// The hub's test node; with `prefix` `MASH_AUTHORITY_`, the second node `make test` starts as a placing
    /// authority's own broker (deploy/rabbitmq/authority/definitions.json), reached through shovels.
    public static func fromEnvironment(prefix: String = "MASH_") throws -> TestBroker {
        let env = ProcessInfo.processInfo.environment
        func required(_ suffix: String) throws -> String {
            let name = prefix + suffix
            guard let value = env[name], !value.isEmpty else { throw Missing(variable: name) }
            return value
        }
        return TestBroker(
            url: try required("AMQP_URL"), tlsURL: try required("AMQPS_URL"),
            caFile: try required("BROKER_CA"), clientCertificateFile: try required("BROKER_CLIENT_CERT"),
            clientKeyFile: try required("BROKER_CLIENT_KEY"),
            credentialsDirectory: try required("BROKER_CREDENTIALS"),
            controlScript: try required("BROKER_CTL"), managementURL: try required("BROKER_MANAGEMENT_URL"))
    }

    /// The same node with its URLs pointing at `vhost` (a name that needs no escaping).
    public func inVhost(_ vhost: String) -> TestBroker {
        func replacingVhost(_ url: String) -> String {
            guard let slash = url.lastIndex(of: "/"), url[..<slash].hasSuffix("/") == false else { return url }
            return url[...slash] + vhost
        }
        var copy = self
        copy.url = replacingVhost(url)
        copy.tlsURL = replacingVhost(tlsURL)
        return copy
    }

    public func connect(
        _ name: String, heartbeatSeconds: Int? = nil, confirmWindow: Int = 256, backoff: Backoff = Backoff()
    ) async throws -> AMQPConnection {
        let configuration = AMQPConfiguration(
            url: try AMQPURL(url), connectionName: "test \(name)", heartbeatSeconds: heartbeatSeconds,
            confirmWindow: confirmWindow, backoff: backoff)
        return try await AMQPConnection.connect(configuration)
    }

    /// The URL for one of the broker users from the definitions (police, health, coordinator, ...), with the
    /// password the node was given when it was provisioned.
    public func url(asUser user: String) throws -> AMQPURL {
        let path = (credentialsDirectory as NSString).appendingPathComponent(user)
        guard let password = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Missing(variable: "a generated password for broker user '\(user)' at \(path)")
        }
        var parsed = try AMQPURL(url)
        parsed.user = user
        parsed.password = password.trimmingCharacters(in: .whitespacesAndNewlines)
        return parsed
    }

    /// Runs `scripts/broker.sh <verb> [arguments]` (restart, kill, up, or `ctl` with rabbitmqctl's
    /// arguments) and waits for it.
    public func control(_ verb: String, _ arguments: String...) throws {
        try Shell.run(controlScript, [verb] + arguments)
    }
}

/// Names that no other test uses, so tests can run in parallel on one node.
public enum TestNames {
    public static func queue(_ purpose: String) -> String {
        "test.\(purpose).\(UUID().uuidString.prefix(8).lowercased())"
    }

    public static func messageID() -> String { UUID().uuidString.lowercased() }
}

public enum Shell {
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var output: String
        public var description: String { "`\(command)` exited \(status): \(output)" }
    }

    /// Starts `program` (found on PATH unless absolute) with standard input from /dev/null and standard output
    /// and error into `output`, opened with `flags`. Returns its pid.
    static func spawn(_ program: String, _ arguments: [String], output: String, flags: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, flags, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(command: program, status: -1, output: String(cString: strerror(spawned)))
        }
        return pid
    }

    /// The exit code from a `waitpid` status: the program's own, or 128 + the signal that killed it.
    static func exitCode(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// Runs a program (found on PATH unless the path is absolute) to completion and returns its combined output;
    /// throws with that output on a non-zero exit. Uses posix_spawn and waitpid rather than Foundation's
    /// `Process`, whose wait can hang when the child leaves a daemon behind (as `broker.sh up` does).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], directory: String? = nil) throws -> String {
        let log = (NSTemporaryDirectory() as NSString).appendingPathComponent("mash-shell-\(UUID().uuidString).log")
        defer { unlink(log) }
        // posix_spawn has no portable chdir: run through `env -C` when a directory is given.
        let (program, args) =
            directory.map { ("/usr/bin/env", ["-C", $0, executable] + arguments) } ?? (executable, arguments)
        let pid = try spawn(program, args, output: log, flags: O_WRONLY | O_CREAT | O_TRUNC)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let exitCode = exitCode(status)
        guard exitCode == 0 else {
            throw Failure(
                command: ([executable] + arguments).joined(separator: " "), status: exitCode, output: output)
        }
        return output
    }
}

/// A directory under the system's temporary folder, removed by `remove()`.
public struct ScratchDirectory: Sendable {
    public let path: String

    public init(_ purpose: String) throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("mash-\(purpose)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository's root folder, for tests that read its files (deploy/rabbitmq/definitions.json, Config/).
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }
}

extension Repository {
    /// A shipped `Config/agencies/<id>.yaml` with its paths moved: keys, extracts and the adapter's state to the
    /// folders given, and the retention schedule to the repository's own (its `../retention.yaml` is relative).
    public static func shippedAgencyConfig(_ agency: String, keys: String, extracts: String, adapters: String) throws
        -> String
    {
        try String(contentsOfFile: path("Config/agencies/\(agency).yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../../.build/keys", with: keys)
            .replacingOccurrences(of: "../../.build/extracts", with: extracts)
            .replacingOccurrences(of: "../../.build/adapters", with: adapters)
            .replacingOccurrences(
                of: "retention: ../retention.yaml", with: "retention: \(path("Config/retention.yaml"))")
    }
}
