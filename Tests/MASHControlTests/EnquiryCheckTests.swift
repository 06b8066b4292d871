import Foundation
import MASHCore
import MASHTesting
import Testing

@testable import MASHControl

@Suite("mashctl enquiry open --check: refused where the coordinator would refuse")
struct EnquiryCheckTests {
    /// Runs `mashctl enquiry open --file <text> --check` with the shipped routing rules; nil when it passes.
    func check(_ enquiry: Enquiry) async throws -> String? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("enquiry-\(UUID().uuidString).json")
        try Data(enquiry.json).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let command = try #require(
            try MashCtl.parseAsRoot([
                "enquiry", "open", "--file", file.path, "--check", "--routing", Repository.path("Config/routing.yaml"),
            ]) as? OpenEnquiry)
        do {
            try await command.run()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a valid enquiry for the RAG rating's default agencies passes")
    func passes() async throws {
        #expect(try await check(TestHub.enquiry(rag: .red)) == nil)
    }

    @Test("an agency not in the hub's routing rules is refused by the check, naming it, as the hub refuses it")
    func unknownAgency() async throws {
        let failure = try #require(try await check(TestHub.enquiry(rag: .red, agencies: ["police", "mi5"])))
        #expect(failure.contains("the hub would refuse this enquiry") && failure.contains("mi5"), "\(failure)")
        #expect(failure.contains("not configured in routing.yaml"), "\(failure)")
        #expect(!failure.contains("police,"), "only the unknown agency is named: \(failure)")
    }

    @Test("no consent and no override is refused by the check with the hub's reason")
    func noConsent() async throws {
        let failure = try #require(try await check(TestHub.enquiry(consent: .notGiven("not sought"))))
        #expect(failure.contains("no consent and no override"), "\(failure)")
    }
}
