import Foundation
import MASHTesting
import Testing

@testable import MASHControl

@Suite("mashctl enquiry open --check: refused where the coordinator would refuse")
struct EnquiryCheckTests {
    static let enquiry = """
        {"schema": "mash.enquiry/1", "id": "e-check-1", "reference": "FWI-1", "rag": "red",
         "receivedAt": "2026-11-23T10:00:00Z", "referrer": "spa-1", "reason": "concern",
         "subject": {"forename": "A", "surname": "B", "dateOfBirth": "2016-03-14"},
         "consent": {"status": "given", "givenBy": "mother", "recordedAt": "2026-11-23T09:00:00Z"},
         "lawfulBasis": {"article6": "public-task"}}
        """

    /// Runs `mashctl enquiry open --file <text> --check` with the shipped routing rules; nil when it passes.
    func check(_ text: String) async throws -> String? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("enquiry-\(UUID().uuidString).json")
        try Data(text.utf8).write(to: file)
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
        #expect(try await check(Self.enquiry) == nil)
    }

    @Test("an agency not in the hub's routing rules is refused by the check, naming it, as the hub refuses it")
    func unknownAgency() async throws {
        let text = Self.enquiry.replacingOccurrences(
            of: #""rag": "red","#, with: #""rag": "red", "agencies": ["police", "mi5"],"#)
        let failure = try #require(try await check(text))
        #expect(failure.contains("the hub would refuse this enquiry") && failure.contains("mi5"), "\(failure)")
        #expect(failure.contains("not configured in routing.yaml"), "\(failure)")
        #expect(!failure.contains("police,"), "only the unknown agency is named: \(failure)")
    }

    @Test("no consent and no override is refused by the check with the hub's reason")
    func noConsent() async throws {
        let text = Self.enquiry.replacingOccurrences(
            of: #"{"status": "given", "givenBy": "mother", "recordedAt": "2026-11-23T09:00:00Z"}"#,
            with: #"{"status": "not-given"}"#)
        let failure = try #require(try await check(text))
        #expect(failure.contains("no consent and no override"), "\(failure)")
    }
}
