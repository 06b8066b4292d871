import Foundation
import MASHTesting
import Sealing
import Testing

@testable import MASHControl

@Suite("mashctl keys, seal and open")
struct KeysAndSealingCommandTests {
    @Test("keys generate writes a private PEM (0600) and a JWK; keys show prints the kid, never the private key")
    func generateAndShow() throws {
        let scratch = try ScratchDirectory("ctl-keys")
        defer { scratch.remove() }
        let generate = try #require(
            try MashCtl.parseAsRoot(["keys", "generate", "--agency", "probation", "--out", scratch.path])
                as? Keys.Generate)
        try generate.run()
        let pairs = try KeyDirectory.keyPairs(agency: "probation", in: scratch.path)
        #expect(Set(pairs.map(\.use)) == [.sig, .enc], "a signing key and an encryption key")
        let pair = try #require(pairs.first)
        let pem = try #require(pair.file)
        let shown = try Keys.describe(file: pem)
        #expect(shown.contains("agency: probation"))
        #expect(shown.contains(pair.kid))
        #expect(shown.contains(pair.use == .sig ? "use:    signing" : "use:    encryption"), "\(shown)")
        #expect(shown.contains("\"use\" : \"\(pair.use?.rawValue ?? "")\""), "\(shown)")
        #expect(!shown.contains("PRIVATE"))
        #expect(!shown.contains("\"d\""))
        let fromJWK = try Keys.describe(file: String(pem.dropLast(4)) + ".jwk")
        #expect(fromJWK.contains(pair.kid))
    }

    @Test("seal then open round-trips a payload between two agencies' key folders")
    func sealAndOpen() throws {
        let scratch = try ScratchDirectory("ctl-seal")
        defer { scratch.remove() }
        let police = try KeyDirectory.generate(agency: "police", in: scratch.path)
        let coordinator = try KeyDirectory.generate(agency: "coordinator", in: scratch.path)
        let policePEM = try #require(police.file)
        let coordinatorPEM = try #require(coordinator.file)
        let seal = try #require(
            try MashCtl.parseAsRoot([
                "seal", "--key", policePEM, "--to", String(coordinatorPEM.dropLast(4)) + ".jwk", "--type",
                "mash.research-response/1", "--id", "m-42",
            ]) as? Seal)
        let sealed = try seal.seal(Array(#"{"outcome":"no trace"}"#.utf8))
        let open = try #require(
            try MashCtl.parseAsRoot(["open", "--key", coordinatorPEM, "--trust", scratch.path]) as? Open)
        let (payload, summary) = try open.open(Array(sealed.utf8))
        #expect(String(decoding: payload, as: UTF8.self) == #"{"outcome":"no trace"}"#)
        #expect(summary.contains("message m-42, from police to coordinator"))
    }

    @Test("seal refuses a type that is not a document's schema string, suggesting the one meant")
    func sealRefusesShortType() {
        #expect {
            try MashCtl.parseAsRoot(["seal", "--key", "k.pem", "--to", "c.jwk", "--type", "research-response"])
        } throws: { error in
            let message = MashCtl.message(for: error)
            return message.contains("'research-response' is not a document type")
                && message.contains("did you mean 'mash.research-response/1'?")
        }
    }

    @Test("open refuses a message from a sender it does not trust, naming the reason")
    func untrusted() throws {
        let scratch = try ScratchDirectory("ctl-untrusted")
        let trustOnlyHealth = try ScratchDirectory("ctl-trust")
        defer {
            scratch.remove()
            trustOnlyHealth.remove()
        }
        let police = try KeyDirectory.generate(agency: "police", in: scratch.path)
        let coordinator = try KeyDirectory.generate(agency: "coordinator", in: scratch.path)
        try KeyDirectory.generate(agency: "health", in: trustOnlyHealth.path)
        let sealed = try Sealer(sender: police).seal([1], type: "t", messageID: "x", to: coordinator.publicKey)
        let coordinatorPEM = try #require(coordinator.file)
        let open = try #require(
            try MashCtl.parseAsRoot(["open", "--key", coordinatorPEM, "--trust", trustOnlyHealth.path]) as? Open)
        #expect {
            _ = try open.open(Array(sealed.utf8))
        } throws: { error in
            (error as? SealingError)?.code == .unknownKey
        }
    }

    @Test("--help teaches: the key layout, rotation and an example")
    func help() {
        let keysHelp = MashCtl.helpMessage(for: Keys.self)
        #expect(keysHelp.contains("RFC 7638"))
        #expect(keysHelp.contains("rotation"))
        let generateHelp = MashCtl.helpMessage(for: Keys.Generate.self)
        #expect(generateHelp.contains("mashctl keys generate --agency police"))
        #expect(MashCtl.helpMessage(for: Open.self).contains("signatureInvalid"))
    }

    @Test("a missing required option is a usage error")
    func usage() {
        #expect(throws: (any Error).self) { try MashCtl.parseAsRoot(["keys", "generate", "--out", "/tmp/x"]) }
    }

    @Test("the built mashctl binary seals and opens through a shell pipeline, and refuses a loose key file")
    func binary() throws {
        let mashctl = Repository.path(".build/debug/mashctl")
        #expect(FileManager.default.isExecutableFile(atPath: mashctl), "build mashctl first (swift build)")
        let scratch = try ScratchDirectory("ctl-binary")
        defer { scratch.remove() }
        try Shell.run(mashctl, ["keys", "generate", "--agency", "education", "--out", scratch.path])
        try Shell.run(mashctl, ["keys", "generate", "--agency", "coordinator", "--out", scratch.path])
        // Each party now has two keys: education signs with its signing key; the coordinator is sealed to, and
        // opens with, its encryption key.
        let education = try #require(
            try KeyDirectory.keyPairs(agency: "education", in: scratch.path).signingPair().file)
        let coordinator = try #require(
            try KeyDirectory.keyPairs(agency: "coordinator", in: scratch.path).first { $0.use == .enc }?.file)
        let output = try Shell.run(
            "/bin/sh",
            [
                "-c",
                "printf 'hello hub' | \"$0\" seal --key \"$1\" --to \"$2\" --type mash.sla-alert/1 | \"$0\" open --key \"$3\" --trust \"$4\" 2>/dev/null",
                mashctl, education, String(coordinator.dropLast(4)) + ".jwk", coordinator, scratch.path,
            ])
        #expect(output == "hello hub")

        chmod(education, 0o640)
        #expect {
            try Shell.run(
                "/bin/sh",
                [
                    "-c", "echo x | \"$0\" seal --key \"$1\" --to \"$2\" --type mash.sla-alert/1", mashctl, education,
                    String(coordinator.dropLast(4)) + ".jwk",
                ])
        } throws: { error in
            let failure = error as? Shell.Failure
            return failure?.status == 1 && failure?.output.contains("chmod 600") == true
        }
    }
}
