import Foundation
import MASHTesting
import Testing

@testable import Sealing

/// Interop with joserfc, an independent JOSE library, run from the virtual environment `make test` makes
/// (MASH_PYTHON). Fails — never skips — when it is missing.
@Suite("Interop with Python joserfc")
struct InteropTests {
    let python: String
    let script = Repository.path("Tests/Interop/jose_interop.py")

    init() throws {
        guard let python = ProcessInfo.processInfo.environment["MASH_PYTHON"], !python.isEmpty else {
            throw TestBroker.Missing(variable: "MASH_PYTHON (a Python with joserfc; `make test` creates it)")
        }
        self.python = python
    }

    @Test("joserfc decrypts and verifies what Swift sealed")
    func pythonOpensSwift() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal(#"{"outcome":"no trace"}"#, id: "swift-to-python")
        let input = f.scratch.file("sealed.txt")
        try sealed.write(toFile: input, atomically: true, encoding: .utf8)
        let output = try Shell.run(
            "/bin/sh",
            [
                "-c",
                "\"$0\" \"$1\" open --key \"$2\" --trust \"$3\" < \"$4\"", python, script,
                try #require(f.coordinator.file),
                String(try #require(f.police.file).dropLast(4)) + ".jwk", input,
            ])
        let opened = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(opened["payload"] as? String == #"{"outcome":"no trace"}"#)
        let jws = try #require(opened["jws"] as? [String: Any])
        #expect(jws["jti"] as? String == "swift-to-python")
        #expect(jws["cty"] as? String == "research-response")
        let jwe = try #require(opened["jwe"] as? [String: Any])
        #expect(jwe["alg"] as? String == "ECDH-ES+A256KW")
        #expect(jwe["enc"] as? String == "A256GCM")
    }

    @Test("Swift opens what joserfc sealed")
    func swiftOpensPython() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let payload = f.scratch.file("payload.json")
        try #"{"outcome":"information held"}"#.write(toFile: payload, atomically: true, encoding: .utf8)
        let sealed = try Shell.run(
            "/bin/sh",
            [
                "-c",
                "\"$0\" \"$1\" seal --key \"$2\" --sender police --to \"$3\" --type research-response --id py-1 < \"$4\"",
                python, script, try #require(f.police.file),
                String(try #require(f.coordinator.file).dropLast(4)) + ".jwk", payload,
            ])
        let opened = try f.opener.open(sealed.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(String(decoding: opened.payload, as: UTF8.self) == #"{"outcome":"information held"}"#)
        #expect(opened.sender == "police")
        #expect(opened.messageID == "py-1")
        #expect(opened.type == "research-response")
    }
}
