import Foundation
import MASHTesting
import Testing

@testable import Sealing

/// Two agencies with fresh keys in a scratch key directory: police seals to the coordinator.
struct KeyFixture {
    let scratch: ScratchDirectory
    let police: AgencyKeyPair
    let coordinator: AgencyKeyPair
    let sealer: Sealer
    let opener: Opener

    init() throws {
        scratch = try ScratchDirectory("keys")
        police = try KeyDirectory.generate(agency: "police", in: scratch.path)
        coordinator = try KeyDirectory.generate(agency: "coordinator", in: scratch.path)
        sealer = Sealer(sender: police)
        opener = Opener(
            recipient: "coordinator", keyPairs: [coordinator], trusted: TrustStore([police.publicKey]))
    }

    func seal(_ text: String = #"{"subject":"example"}"#, id: String = UUID().uuidString, at date: Date = Date())
        throws -> String
    {
        try sealer.seal(
            Array(text.utf8), type: "research-response", messageID: id, to: coordinator.publicKey, issuedAt: date)
    }

    /// A message signed by police with `header` members replaced, encrypted with `jweOverrides`.
    func forge(jws overrides: [String: Any] = [:], jwe jweOverrides: [String: Any] = [:]) throws -> String {
        var header: [String: Any] = [
            "alg": "ES256", "kid": police.kid, "typ": "mash+jws", "cty": "research-response", "iss": "police",
            "aud": "coordinator", "jti": UUID().uuidString, "iat": Int(Date().timeIntervalSince1970),
        ]
        header.merge(overrides) { _, new in new }
        let jws = try sealer.sign(header: header, payload: Array("{}".utf8))
        return try sealer.encrypt(jws, to: coordinator.publicKey, headerOverrides: jweOverrides)
    }
}

func expectSealingError(
    _ code: SealingError.Code, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(sourceLocation: sourceLocation) {
        try body()
    } throws: { error in
        (error as? SealingError)?.code == code
    }
}

@Suite("Sealed messages: JWE(ECDH-ES+A256KW, A256GCM) around JWS(ES256)")
struct SealingTests {
    @Test("what police seals to the coordinator opens with its payload, type, id, sender and key ids")
    func roundTrip() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal(#"{"subject":"Jane"}"#, id: "m-1")
        #expect(sealed.split(separator: ".").count == 5)
        #expect(!sealed.contains("Jane"))
        let opened = try f.opener.open(sealed)
        #expect(String(decoding: opened.payload, as: UTF8.self) == #"{"subject":"Jane"}"#)
        #expect(opened.type == "research-response")
        #expect(opened.messageID == "m-1")
        #expect(opened.sender == "police")
        #expect(opened.recipient == "coordinator")
        #expect(opened.signingKeyID == f.police.kid)
        #expect(opened.encryptionKeyID == f.coordinator.kid)
    }

    @Test("JOSE headers carry key ids and types, nothing personal")
    func headersHoldNoContent() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal(#"{"name":"Jane Example","dob":"2015-01-02"}"#)
        let header = try JOSE.decodeHeader(sealed.split(separator: ".")[0], what: "JWE header")
        #expect(Set(header.keys) == ["alg", "enc", "kid", "typ", "cty", "epk"])
    }

    @Test("after rotation, new messages use the newest key and messages to the old key still open")
    func rotation() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let toOldKey = try f.seal()
        let newer = try KeyDirectory.generate(
            agency: "coordinator", in: f.scratch.path, now: Date().addingTimeInterval(60))
        let pairs = try KeyDirectory.keyPairs(agency: "coordinator", in: f.scratch.path)
        #expect(pairs.map(\.kid) == [newer.kid, f.coordinator.kid])
        let opener = Opener(recipient: "coordinator", keyPairs: pairs, trusted: TrustStore([f.police.publicKey]))
        #expect(try opener.open(toOldKey).encryptionKeyID == f.coordinator.kid)
        let toNewKey = try f.sealer.seal([1], type: "t", messageID: "n", to: pairs[0].publicKey)
        #expect(try opener.open(toNewKey).encryptionKeyID == newer.kid)
    }

    @Test("a message encrypted to a key we do not hold is refused as unknownKey")
    func unknownRecipientKey() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let stranger = try KeyDirectory.generate(agency: "coordinator", in: f.scratch.path + "/other")
        let sealed = try f.sealer.seal([1], type: "t", messageID: "x", to: stranger.publicKey)
        expectSealingError(.unknownKey) { _ = try f.opener.open(sealed) }
    }

    @Test("a signature by a key we do not trust is refused as unknownKey")
    func untrustedSigner() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let opener = Opener(recipient: "coordinator", keyPairs: [f.coordinator], trusted: TrustStore())
        expectSealingError(.unknownKey) { _ = try opener.open(try f.seal()) }
    }

    @Test("a signature by a revoked key is refused as keyRevoked; the newest key not revoked is sealed to")
    func revokedSigner() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal()
        var list = KeyRevocations()
        list.add(.init(kid: f.police.kid, agency: "police", reason: "stolen", revokedAt: Date()))
        try list.encoded().write(to: URL(fileURLWithPath: KeyRevocations.file(in: f.scratch.path)))
        #expect(try KeyRevocations.load(directory: f.scratch.path).entries.map(\.kid) == [f.police.kid])
        let trusted = try TrustStore(directory: f.scratch.path)
        #expect(trusted[f.police.kid] != nil, "the key file is still there; the list is what refuses it")
        let opener = Opener(recipient: "coordinator", keyPairs: [f.coordinator], trusted: trusted)
        expectSealingError(.keyRevoked) { _ = try opener.open(sealed) }
        expectSealingError(.unknownKey) { _ = try KeyDirectory.newestPublicKey(agency: "police", in: f.scratch.path) }
        let newer = try KeyDirectory.generate(agency: "police", in: f.scratch.path, now: Date().addingTimeInterval(-60))
        #expect(try KeyDirectory.newestPublicKey(agency: "police", in: f.scratch.path).kid == newer.kid)
        try "not json".write(toFile: KeyRevocations.file(in: f.scratch.path), atomically: true, encoding: .utf8)
        expectSealingError(.invalidKey) { _ = try TrustStore(directory: f.scratch.path) }
    }

    @Test(
        """
        split keys: a party signs with its signing key and is sealed to with its encryption key; the wrong use is \
        refused wrongKeyUse both ways; a party moving from one key to two still opens what was sealed to the old one
        """)
    func splitKeys() throws {
        let scratch = try ScratchDirectory("keys-split")
        defer { scratch.remove() }
        // Before the split: one key each, doing both jobs.
        let oldPolice = try KeyDirectory.generate(
            agency: "police", in: scratch.path, now: Date(timeIntervalSinceNow: -3600))
        let oldCoordinator = try KeyDirectory.generate(
            agency: "coordinator", in: scratch.path, now: Date(timeIntervalSinceNow: -3600))
        #expect(oldPolice.use == nil && oldPolice.publicKey.jwk["use"] == nil)
        let beforeSplit = try Sealer(sender: oldPolice).seal(
            Array("{}".utf8), type: "t", messageID: "m-old", to: oldCoordinator.publicKey)

        let police = try KeyDirectory.generateSplit(agency: "police", in: scratch.path)
        let coordinator = try KeyDirectory.generateSplit(agency: "coordinator", in: scratch.path)
        #expect(police.signing.publicKey.jwk["use"] == "sig" && police.encryption.publicKey.jwk["use"] == "enc")
        let pairs = try KeyDirectory.keyPairs(agency: "coordinator", in: scratch.path)
        #expect(pairs.count == 3)
        #expect(try KeyDirectory.keyPairs(agency: "police", in: scratch.path).signingPair().kid == police.signing.kid)
        #expect(
            try KeyDirectory.newestPublicKey(agency: "coordinator", in: scratch.path).kid == coordinator.encryption.kid,
            "new messages are sealed to the encryption key, not the older key nor the signing key")

        let trusted = try TrustStore(directory: scratch.path)
        let opener = Opener(recipient: "coordinator", keyPairs: pairs, trusted: trusted)
        let sealed = try Sealer(sender: police.signing).seal(
            Array(#"{"a":1}"#.utf8), type: "t", messageID: "m-new", to: coordinator.encryption.publicKey)
        let opened = try opener.open(sealed)
        #expect(opened.signingKeyID == police.signing.kid && opened.encryptionKeyID == coordinator.encryption.kid)
        #expect(try opener.open(beforeSplit).messageID == "m-old", "the old single key still opens and verifies")

        // Our sealer will make neither mistake.
        expectSealingError(.wrongKeyUse) {
            _ = try Sealer(sender: police.encryption).seal(
                Array("{}".utf8), type: "t", messageID: "m", to: coordinator.encryption.publicKey)
        }
        expectSealingError(.wrongKeyUse) {
            _ = try Sealer(sender: police.signing).seal(
                Array("{}".utf8), type: "t", messageID: "m", to: coordinator.signing.publicKey)
        }
        // Another client's mistakes, made by hand, are refused on opening.
        let encryptionSigner = Sealer(sender: police.encryption)
        let header: [String: Any] = [
            "alg": "ES256", "kid": police.encryption.kid, "typ": "mash+jws", "cty": "t", "iss": "police",
            "aud": "coordinator", "jti": "m-x", "iat": Int(Date().timeIntervalSince1970),
        ]
        let signedWithEncryptionKey = try encryptionSigner.encrypt(
            try encryptionSigner.sign(header: header, payload: Array("{}".utf8)), to: coordinator.encryption.publicKey)
        expectSealingError(.wrongKeyUse) { _ = try opener.open(signedWithEncryptionKey) }
        let signer = Sealer(sender: police.signing)
        var signedHeader = header
        signedHeader["kid"] = police.signing.kid
        let toSigningKey = try signer.encrypt(
            try signer.sign(header: signedHeader, payload: Array("{}".utf8)), to: coordinator.signing.publicKey)
        expectSealingError(.wrongKeyUse) { _ = try opener.open(toSigningKey) }

        // A JWK whose use is something else is not a key we read.
        var jwk = coordinator.signing.publicKey.jwk
        jwk["use"] = "both"
        let data = try JSONSerialization.data(withJSONObject: jwk)
        expectSealingError(.invalidKey) { _ = try AgencyPublicKey.parse(jwk: Array(data), source: "x.jwk") }
    }

    @Test("a message claiming to come from health but signed with a police key is refused as wrongSender")
    func wrongSender() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        expectSealingError(.wrongSender) { _ = try f.opener.open(try f.forge(jws: ["iss": "health"])) }
    }

    @Test("a message addressed to another agency is refused as wrongRecipient")
    func wrongRecipient() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        expectSealingError(.wrongRecipient) { _ = try f.opener.open(try f.forge(jws: ["aud": "health"])) }
    }

    @Test(
        "signature algorithms other than ES256 are refused, 'none' and HMAC included",
        arguments: ["none", "HS256", "RS256", "ES384"])
    func signatureAlgorithm(alg: String) throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        expectSealingError(.algorithmNotAllowed) { _ = try f.opener.open(try f.forge(jws: ["alg": alg])) }
    }

    @Test(
        "key management and content encryption other than ECDH-ES+A256KW / A256GCM are refused",
        arguments: [
            ["alg": "dir"], ["alg": "A256KW"], ["alg": "RSA1_5"], ["alg": "ECDH-ES"], ["enc": "A128GCM"],
            ["zip": "DEF"],
        ])
    func encryptionAlgorithm(overrides: [String: String]) throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        expectSealingError(.algorithmNotAllowed) { _ = try f.opener.open(try f.forge(jwe: overrides)) }
    }

    @Test("a flipped bit anywhere in ciphertext, tag, IV or wrapped key is refused as decryptionFailed")
    func tampering() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal()
        for part in 1...4 {
            var parts = sealed.split(separator: ".").map(String.init)
            var bytes = try #require(Base64URL.decode(Substring(parts[part])))
            bytes[bytes.count / 2] ^= 0x01
            parts[part] = Base64URL.encode(bytes)
            expectSealingError(.decryptionFailed) { _ = try f.opener.open(parts.joined(separator: ".")) }
        }
    }

    @Test("a changed protected header breaks the authentication tag")
    func headerTampering() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        var parts = try f.seal().split(separator: ".").map(String.init)
        var header = try JOSE.decodeHeader(Substring(parts[0]), what: "h")
        header["typ"] = "other"
        parts[0] = try JOSE.encodeHeader(header)
        expectSealingError(.decryptionFailed) { _ = try f.opener.open(parts.joined(separator: ".")) }
    }

    @Test("a JWS whose signature was made over other content is refused as signatureInvalid")
    func badSignature() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let header: [String: Any] = [
            "alg": "ES256", "kid": f.police.kid, "cty": "t", "iss": "police", "aud": "coordinator", "jti": "j",
            "iat": Int(Date().timeIntervalSince1970),
        ]
        let genuine = try f.sealer.sign(header: header, payload: Array("genuine".utf8)).split(separator: ".")
        let forged = "\(genuine[0]).\(Base64URL.encode(Array("forged".utf8))).\(genuine[2])"
        expectSealingError(.signatureInvalid) {
            _ = try f.opener.open(try f.sealer.encrypt(forged, to: f.coordinator.publicKey))
        }
    }

    @Test("truncated and garbled input is refused as malformed, never a crash")
    func malformed() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let sealed = try f.seal()
        let parts = sealed.split(separator: ".")
        for bad in [
            "", ".", "a.b.c", parts.dropLast().joined(separator: "."), sealed + ".x",
            "!!!." + parts.dropFirst().joined(separator: "."), String(sealed.prefix(sealed.count / 2)),
        ] {
            #expect {
                _ = try f.opener.open(bad)
            } throws: { error in
                let code = (error as? SealingError)?.code
                return code == .malformed || code == .decryptionFailed
            }
        }
        expectSealingError(.malformed) { _ = try f.opener.open(try f.forge(jws: ["crit": ["exp"]])) }
        expectSealingError(.malformed) { _ = try f.opener.open(try f.forge(jws: ["jti": ""])) }
    }

    @Test("input over the size limit is refused before it is parsed")
    func oversized() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        var opener = f.opener
        opener.maximumSize = 1000
        expectSealingError(.tooLarge) { _ = try opener.open(String(repeating: "A", count: 1001)) }
        expectSealingError(.tooLarge) { _ = try opener.open(try f.seal(String(repeating: "x", count: 2000))) }
    }

    @Test("a message issued outside the window, either way, is refused")
    func issuedAt() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        expectSealingError(.issuedOutsideWindow) {
            _ = try f.opener.open(try f.seal(at: Date().addingTimeInterval(-600)))
        }
        expectSealingError(.issuedOutsideWindow) {
            _ = try f.opener.open(try f.seal(at: Date().addingTimeInterval(600)))
        }
        expectSealingError(.issuedOutsideWindow) { _ = try f.opener.open(try f.forge(jws: ["iat": "yesterday"])) }
        #expect(try f.opener.open(try f.seal(at: Date().addingTimeInterval(-200))).sender == "police")
    }

    @Test("the replay hook refuses a message id seen before")
    func replay() throws {
        let f = try KeyFixture()
        defer { f.scratch.remove() }
        let seen = Locked(Set<String>())
        var opener = f.opener
        opener.isReplay = { id in seen.withLock { !$0.insert(id).inserted } }
        let sealed = try f.seal(id: "once")
        _ = try opener.open(sealed)
        expectSealingError(.replay) { _ = try opener.open(sealed) }
        expectSealingError(.replay) { _ = try opener.open(try f.seal(id: "once")) }
    }
}

@Suite("Agency keys on disk")
struct KeyFileTests {
    @Test("private key files are written 0600 and their JWK carries the RFC 7638 thumbprint as kid")
    func generatedFiles() throws {
        let scratch = try ScratchDirectory("keyfiles")
        defer { scratch.remove() }
        let pair = try KeyDirectory.generate(agency: "health", in: scratch.path)
        let pem = try #require(pair.file)
        let attributes = try FileManager.default.attributesOfItem(atPath: pem)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let jwkPath = String(pem.dropLast(4)) + ".jwk"
        let jwk = try AgencyPublicKey.parse(
            jwk: Array(try Data(contentsOf: URL(fileURLWithPath: jwkPath))), source: jwkPath)
        #expect(jwk.kid == pair.kid)
        #expect(jwk.agency == "health")
        #expect(pair.kid.count == 43)
    }

    @Test("a private key readable by group or others is refused, with the command that fixes it")
    func loosePermissions() throws {
        let scratch = try ScratchDirectory("loose")
        defer { scratch.remove() }
        let pem = try #require(try KeyDirectory.generate(agency: "yos", in: scratch.path).file)
        chmod(pem, 0o644)
        #expect {
            _ = try KeyDirectory.loadPrivateKey(pem)
        } throws: { error in
            let error = error as? SealingError
            return error?.code == .keyFilePermissions && error?.message.contains("chmod 600 \(pem)") == true
        }
        chmod(pem, 0o600)
        _ = try KeyDirectory.loadPrivateKey(pem)
    }

    @Test("a JWK whose kid is not its thumbprint, or that is not P-256, is refused")
    func badJWK() throws {
        let scratch = try ScratchDirectory("badjwk")
        defer { scratch.remove() }
        let pair = try KeyDirectory.generate(agency: "housing", in: scratch.path)
        var jwk = pair.publicKey.jwk
        jwk["kid"] = "not-the-thumbprint"
        let data = try JSONSerialization.data(withJSONObject: jwk)
        #expect(throws: SealingError.self) { try AgencyPublicKey.parse(jwk: Array(data), source: "x.jwk") }
        var other = pair.publicKey.jwk
        other["crv"] = "P-384"
        #expect(throws: SealingError.self) {
            try AgencyPublicKey.parse(jwk: Array(try JSONSerialization.data(withJSONObject: other)), source: "y.jwk")
        }
    }
}

@Suite("Sealed headers are read strictly")
struct StrictHeaderTests {
    @Test("a JWE header naming a member twice is refused as malformed, whichever value would win")
    func duplicateMember() throws {
        let fixture = try KeyFixture()
        defer { fixture.scratch.remove() }
        let parts = try fixture.seal().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(Base64URL.decode(Substring(parts[0])))
        // The same header with `alg` said a second time, as a forger would to have two readers disagree.
        let doubled = Array(#"{"alg":"dir","#.utf8) + header.dropFirst()
        let forged = ([Base64URL.encode(doubled)] + parts.dropFirst()).joined(separator: ".")
        #expect(throws: SealingError.self) { try fixture.opener.open(forged) }
        do {
            _ = try fixture.opener.open(forged)
        } catch let error as SealingError {
            #expect(error.code == .malformed)
        }
        // The untouched message still opens.
        #expect(try fixture.opener.open(try fixture.seal()).type == "research-response")
    }
}

@Suite("Data at rest: AES-256-GCM keyring")
struct DataKeyringTests {
    @Test("HMAC-SHA-256 gives RFC 4231's vectors, the prepared key the same as the long way, and pseudonyms use it")
    func hmac() throws {
        func hex(_ text: String) -> [UInt8] {
            var bytes: [UInt8] = []
            var index = text.startIndex
            while index < text.endIndex {
                let next = text.index(index, offsetBy: 2)
                bytes.append(UInt8(text[index..<next], radix: 16)!)
                index = next
            }
            return bytes
        }
        // RFC 4231 test cases 1 and 2.
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            (
                [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8),
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
        ]
        for (key, data, mac) in cases {
            #expect(Digest.hmacSHA256(key: key, message: data) == hex(mac))
            #expect(data.withUnsafeBytes { try! #require(HMACKey(key)).mac($0) } == hex(mac))
        }
        let key = try DataKeyring.DataKey.generate(id: "2026-11")
        let keyring = DataKeyring(current: key)
        for text in ["", "roll:990001", String(repeating: "ü", count: 100)] {
            #expect(
                keyring.pseudonym(of: text)
                    == Digest.hex(Array(Digest.hmacSHA256(key: key.bytes, message: Array(text.utf8)).prefix(16))))
        }
    }

    @Test("values round-trip, bound to their context, and still open after the key rotates")
    func roundTripAndRotation() throws {
        let first = try DataKeyring.DataKey.generate(id: "2026-11")
        let keyring = DataKeyring(current: first)
        let sealed = try keyring.seal(Array("Jane Example".utf8), context: Array("enquiry:42:subject".utf8))
        #expect(try keyring.open(sealed, context: Array("enquiry:42:subject".utf8)) == Array("Jane Example".utf8))
        #expect(throws: SealingError.self) { try keyring.open(sealed, context: Array("enquiry:43:subject".utf8)) }

        let rotated = DataKeyring(current: try DataKeyring.DataKey.generate(id: "2026-12"), others: [first])
        #expect(try rotated.open(sealed, context: Array("enquiry:42:subject".utf8)) == Array("Jane Example".utf8))
        #expect(try rotated.seal([1], context: []).count > 0)
        #expect(throws: SealingError.self) {
            try DataKeyring(current: try DataKeyring.DataKey.generate(id: "other")).open(sealed, context: [])
        }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: SealingError.self) { try keyring.open(tampered, context: Array("enquiry:42:subject".utf8)) }
    }

    @Test("a data key made by many at once (a coordinator and its standby starting together) is one key, mode 0600")
    func madeOnceWhenRacing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("data-key-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/coordinator/data-at-rest.key"
        let keyrings = Locked<[Result<DataKeyring, any Error>]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let result = Result { try DataKeyring.loadOrCreate(at: path) }
            keyrings.withLock { $0.append(result) }
        }
        let sealed = try DataKeyring.loadOrCreate(at: path).seal(Array("Jane Example".utf8), context: [1])
        for keyring in keyrings.value {
            #expect(try keyring.get().open(sealed, context: [1]) == Array("Jane Example".utf8))
        }
        #expect(keyrings.value.count == 16)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/coordinator") == ["data-at-rest.key"])
    }
}
