import Foundation
import MASHCore
import MASHTesting
import Testing

@testable import Adapter

/// The `command` backend against real programs (`/bin/sh`), without a broker: exit statuses, oversized output,
/// a program that answers without reading its input, and a timeout whose program leaves a child behind.
@Suite("command backend")
struct CommandBackendTests {
    static let request = ResearchRequest(
        requestID: "r", enquiryID: "e", agency: "police", rag: .red, dueBy: Date(), purpose: "p", consent: "given",
        lawfulBasis: LawfulBasis(article6: .publicTask),
        subject: Person(
            forename: "Ellie", surname: "Testperson", dateOfBirth: LocalDate(year: 2016, month: 3, day: 14)),
        household: [], reason: nil)

    static func backend(_ script: String, timeout: TimeInterval = 10) -> CommandBackend {
        CommandBackend(arguments: ["/bin/sh", "-c", script], timeout: timeout, allowed: [.personal])
    }

    static func failure(_ backend: CommandBackend) async -> String? {
        do {
            _ = try await backend.research(request)
            return nil
        } catch let failure as ResearchFailure {
            return failure.description
        } catch {
            return "\(error)"
        }
    }

    @Test("the request arrives on standard input, and the answer is read from standard output")
    func roundTrip() async throws {
        // The program echoes the subject's surname back as a finding: it really read the request.
        let script = """
            surname=$(sed -n 's/.*"surname":"\\([^"]*\\)".*/\\1/p')
            printf '{"outcome":"information-held","findings":[{"summary":"%s","category":"personal"}]}' "$surname"
            """
        let answer = try await Self.backend(script).research(Self.request)
        guard case .findings(let findings) = answer else {
            Issue.record("expected findings, got \(answer)")
            return
        }
        #expect(findings.map(\.summary) == ["Testperson"])
    }

    @Test("a program that answers without reading its input is not a failure (nor a SIGPIPE that ends the process)")
    func answersWithoutReading() async throws {
        // More than a pipe's buffer, so the write is still going on when the program exits.
        var request = Self.request
        request.reason = String(repeating: "x", count: 300_000)
        #expect(request.json.count > 300_000)
        let answer = try await Self.backend(#"exec 0<&-; echo '{"outcome":"no-trace","findings":[]}'"#)
            .research(request)
        #expect(answer == .findings([]))
    }

    @Test("a non-zero exit status, a signal and more than 1 MiB of output each fail the research, saying which")
    func failures() async throws {
        #expect(
            await Self.failure(Self.backend("cat >/dev/null; exit 3"))
                == "the research program 'sh' exited with status 3")
        #expect(
            await Self.failure(Self.backend("kill -KILL $$")) == "the research program 'sh' was stopped by signal 9")
        #expect(
            await Self.failure(Self.backend("head -c 2000000 /dev/zero"))
                == "the research program 'sh' wrote more than 1 MiB")
        #expect(
            await Self.failure(CommandBackend(arguments: ["/nonexistent/program"], timeout: 5, allowed: []))
                == "the research program 'program' exited with status 127")
    }

    @Test("a timeout stops the program's whole process group, even a child that ignores SIGTERM")
    func timeoutStopsTheGroup() async throws {
        let scratch = try ScratchDirectory("command-backend")
        defer { scratch.remove() }
        let pidFile = scratch.file("child.pid")
        // The shell dies of SIGTERM; its child ignores SIGTERM, outlives it and holds the output pipe.
        let script = "(trap '' TERM; exec sleep 300) & echo $! > '\(pidFile)'; wait"
        let failure = await Self.failure(Self.backend(script, timeout: 1))
        #expect(failure == "the research program 'sh' did not answer within 1s")
        let child = try #require(
            pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        try await eventually("the ignoring child to be killed") {
            // Gone, or dead and waiting to be reaped (state Z).
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8) else { return true }
            return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        }
    }
}
