import Dispatch
import Foundation
import MASHAgency
import MASHCore
import Subprocess
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// What an agency's research found.
enum BackendAnswer: Sendable, Equatable {
    /// The findings; none means no trace.
    case findings([Finding])
    /// The agency's system refused (a sealed record, a legal restriction), with a reason that is safe to send.
    case declined(String)
}

/// Research that could not be done. The reason goes to the hub in an `unable` answer, so it names the
/// failure (a timeout, an exit status, a malformed member) and never the content.
struct ResearchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One way of researching a request in an agency's own records.
protocol ResearchBackend: Sendable {
    func research(_ request: ResearchRequest) async throws -> BackendAnswer
}

/// The agency's own system, told an enquiry's outcome (`mash.outcome/1` JSON). A failure is tried again
/// later: the outcome stays in the adapter's store until it is taken.
protocol OutcomeRecipient: Sendable {
    func deliver(_ outcome: [UInt8]) async throws
}

/// Reads what a `command` or `http` backend returned:
/// `{"outcome": "information-held" | "no-trace" | "declined", "findings": [...], "reason": "..."}`, each finding
/// as in a research response. Strict: an unknown member or a category the agency may not disclose is an error.
func readBackendAnswer(_ bytes: [UInt8], from source: String, allowed: Set<DataCategory>) throws -> BackendAnswer {
    let answer: BackendAnswer
    do {
        var reader = try DocumentReader(json: bytes, source: source)
        let outcome = try reader.string("outcome")
        let findings = try reader.objects("findings") { try Finding(reading: &$0) }
        let reason = try reader.optionalString("reason")
        try reader.finish()
        switch outcome {
        case "information-held":
            guard !findings.isEmpty else { throw reader.error("findings", "must not be empty for information-held") }
            answer = .findings(findings)
        case "no-trace":
            guard findings.isEmpty else { throw reader.error("findings", "must be empty for no-trace") }
            answer = .findings([])
        case "declined":
            guard let reason else { throw reader.error("reason", "is required when the outcome is declined") }
            answer = .declined(reason)
        default:
            throw reader.error("outcome", "'\(outcome)' is not one of information-held, no-trace, declined")
        }
    } catch let error as DocumentError {
        // The field's path only, never its value: the reason goes to the hub and into the log.
        let fault = error.field.isEmpty ? error.problem : "field '\(error.field)' is missing or not valid"
        throw ResearchFailure("\(source) returned an answer that is not valid: \(fault)")
    }
    if case .findings(let findings) = answer, let bad = findings.first(where: { !allowed.contains($0.category) }) {
        throw ResearchFailure(
            "\(source) returned a '\(bad.category.rawValue)' finding; this adapter may disclose only "
                + allowed.map(\.rawValue).sorted().joined(separator: ", "))
    }
    return answer
}

/// Runs the agency's own program for each request: the research request JSON on its standard input, the
/// answer JSON on its standard output, its standard error passed through to the adapter's. The program starts
/// as the leader of a process group of its own, so stopping it stops whatever it started too (a shell's
/// children, a helper holding the output pipe): a program that outlives the timeout, or writes more than
/// 1 MiB, is sent SIGTERM as a group, then SIGKILL, and the research fails. As an `OutcomeRecipient` the
/// program gets an outcome on its standard input the same way, and exit 0 is all that is asked of it.
struct CommandBackend: ResearchBackend, OutcomeRecipient {
    var arguments: [String]
    var timeout: TimeInterval
    var allowed: Set<DataCategory> = []
    /// What the program is called in a failure ("the research program 'x' exited with status 3").
    var role = "research program"
    static let outputLimit = 1 << 20
    static let graceAfterTerminate: Duration = .seconds(2)

    private enum Outcome: Sendable {
        case exited(TerminationStatus, [UInt8])
        case timedOut
    }

    /// Writing to a program that has exited raises SIGPIPE, which would end the whole process: ignored
    /// process-wide (as the service runtime does too), so the write fails with EPIPE instead.
    private static let pipeSignalIgnored: Void = { signal(SIGPIPE, SIG_IGN) }()

    func research(_ request: ResearchRequest) async throws -> BackendAnswer {
        let output = try await execute(input: request.json)
        return try readBackendAnswer(output, from: "the \(role) '\(name)'", allowed: allowed)
    }

    func deliver(_ outcome: [UInt8]) async throws { _ = try await execute(input: outcome) }

    private var name: String { (arguments[0] as NSString).lastPathComponent }

    /// Runs the program with `input` on its standard input; its standard output once it exits 0.
    private func execute(input: [UInt8]) async throws -> [UInt8] {
        Self.pipeSignalIgnored
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [
            .gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: Self.graceAfterTerminate)
        ]
        let leader = ProcessLeader()
        let outcome: Outcome
        do {
            outcome = try await withThrowingTaskGroup(of: Outcome.self) { tasks in
                tasks.addTask { [arguments, options] in
                    let result = try await run(
                        .path("/usr/bin/env"), arguments: Arguments(arguments), platformOptions: options,
                        input: .inputWriter, output: .bytes(limit: Self.outputLimit), error: .currentStandardError
                    ) { execution in
                        leader.pid.store(execution.processIdentifier.value, ordering: .relaxed)
                        // A program may answer without reading all of its input: a closed pipe is not a failure.
                        _ = try? await execution.standardInputWriter.write(input)
                        try? await execution.standardInputWriter.finish()
                    }
                    return .exited(result.terminationStatus, result.standardOutput)
                }
                tasks.addTask { [timeout] in
                    try await Task.sleep(for: .seconds(timeout))
                    return .timedOut
                }
                defer { tasks.cancelAll() }
                return try await tasks.next()!
            }
        } catch let error as SubprocessError where error.code == .outputLimitExceeded {
            throw ResearchFailure("the \(role) '\(name)' wrote more than 1 MiB")
        } catch let error as SubprocessError {
            throw ResearchFailure("the \(role) '\(name)' could not be run (\(error.description))")
        }
        switch outcome {
        case .timedOut:
            // The teardown stopped the group while the program lived; a child that outlived the program (it
            // ignored SIGTERM, say) is killed here, with the group it still belongs to.
            let pid = leader.pid.load(ordering: .relaxed)
            if pid > 0 { kill(-pid, SIGKILL) }
            throw ResearchFailure("the \(role) '\(name)' did not answer within \(Int(timeout))s")
        case .exited(let status, let bytes):
            guard case .exited(0) = status else {
                throw ResearchFailure("the \(role) '\(name)' \(Self.describe(status))")
            }
            return bytes
        }
    }

    /// The program's pid (its process group's id), once started.
    private final class ProcessLeader: Sendable {
        let pid = Atomic<pid_t>(0)
    }

    private static func describe(_ status: TerminationStatus) -> String {
        switch status {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "was stopped by signal \(signal)"
        }
    }
}

/// POSTs each research request (JSON) to the agency's own service and reads the answer from the response
/// body. Anything but a 200 within the timeout is a failure. As an `OutcomeRecipient` it POSTs the outcome,
/// and any 2xx status means the service took it.
struct HTTPBackend: ResearchBackend, OutcomeRecipient {
    var url: URL
    var timeout: TimeInterval
    var allowed: Set<DataCategory> = []
    /// What the service is called in a failure.
    var role = "research service"

    func research(_ request: ResearchRequest) async throws -> BackendAnswer {
        let (status, body) = try await post(request.json)
        guard status == 200 else { throw ResearchFailure("the \(role) answered HTTP \(status)") }
        return try readBackendAnswer(body, from: "the \(role)", allowed: allowed)
    }

    func deliver(_ outcome: [UInt8]) async throws {
        let (status, _) = try await post(outcome)
        guard (200..<300).contains(status) else { throw ResearchFailure("the \(role) answered HTTP \(status)") }
    }

    private func post(_ json: [UInt8]) async throws -> (Int, [UInt8]) {
        var post = URLRequest(url: url, timeoutInterval: timeout)
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.setValue("application/json", forHTTPHeaderField: "Accept")
        post.httpBody = Data(json)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let result = Once<Result<(Int, [UInt8]), ResearchFailure>>()
        let timedOut = ResearchFailure("the \(role) did not answer within \(Int(timeout))s")
        let task = session.dataTask(with: post) { [role] data, response, error in
            if let error = error as? URLError, error.code == .timedOut {
                result.set(.failure(timedOut))
            } else if let error {
                result.set(
                    .failure(ResearchFailure("the \(role) could not be reached (\(error.localizedDescription))")))
            } else {
                result.set(.success(((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data ?? Data()))))
            }
        }
        task.resume()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout + 1) {
            if result.set(.failure(timedOut)) { task.cancel() }
        }
        return try await result.value.get()
    }
}

/// A value set once, from any thread, and awaited.
final class Once<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    /// Sets the value if none was set; true if this call set it.
    @discardableResult
    func set(_ value: Value) -> Bool {
        let waiters: [CheckedContinuation<Value, Never>]? = state.withLock { state in
            guard state.value == nil else { return nil }
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Value? = state.withLock { state in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
