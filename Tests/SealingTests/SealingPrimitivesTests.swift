import Foundation
import Testing

@testable import Sealing

/// The pieces sealing writes by hand for speed, each against the reference it stands for.
@Suite("Sealing primitives: Concat KDF, DER signatures, base64url, headers written without a dictionary")
struct SealingPrimitivesTests {
    /// RFC 7518 Appendix C: ECDH-ES with A128GCM, "Alice" and "Bob", from the RFC's shared secret Z.
    @Test("Concat KDF gives RFC 7518 Appendix C's key")
    func concatKDF() throws {
        let z: [UInt8] = [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128,
            106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
        ]
        func prefixed(_ text: String) -> [UInt8] { JOSE.bigEndian32(UInt32(text.utf8.count)) + Array(text.utf8) }
        let otherInfo = prefixed("A128GCM") + prefixed("Alice") + prefixed("Bob") + JOSE.bigEndian32(128)
        let key = try Crypto.concatKDF(secret: z, otherInfo: otherInfo, length: 16)
        #expect(Base64URL.encode(key) == "VqqN6vgjbSBcIijNcacQGg")
        // More than one round: the first 32 bytes are the one-round output, then round 2 follows.
        let long = try Crypto.concatKDF(secret: z, otherInfo: otherInfo, length: 48)
        #expect(Array(long.prefix(32)) == Crypto.sha256(JOSE.bigEndian32(1) + z + otherInfo))
        #expect(Array(long.suffix(16)) == Array(Crypto.sha256(JOSE.bigEndian32(2) + z + otherInfo).prefix(16)))
    }

    @Test("R‖S as minimal DER: leading zeros dropped, a zero byte before a set top bit, zero kept as one byte")
    func derSignature() {
        var raw = [UInt8](repeating: 0, count: 64)
        raw[31] = 1
        raw[32] = 0x80
        #expect(
            Crypto.derSignature(raw) == [0x30, 0x26, 0x02, 0x01, 0x01, 0x02, 0x21, 0x00, 0x80]
                + [UInt8](repeating: 0, count: 31))
        let zero = [UInt8](repeating: 0, count: 64)
        #expect(Crypto.derSignature(zero) == [0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00])
        var plain = [UInt8](repeating: 0x11, count: 64)
        plain[0] = 0x7F
        let der = Crypto.derSignature(plain)
        #expect(der.count == 2 + 2 * 34 && der[3] == 32 && der[4] == 0x7F)
    }

    @Test("base64url decoding: round trips every length, refuses padding, other alphabets and non-canonical ends")
    func base64() {
        var random = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(Base64URL.decode(Substring(Base64URL.encode(bytes))) == bytes)
        }
        for bad in ["QQ==", "QR", "QUJ", "Q", "QUJD+", "QU/D", "QUJD E", "QUJDRA="] {
            #expect(Base64URL.decode(Substring(bad)) == nil, "\(bad)")
        }
        #expect(Base64URL.decode(Substring("QUI")) == Array("AB".utf8))
        #expect(Base64URL.decode(Substring("QQ")) == Array("A".utf8))
    }

    @Test("the headers seal writes member by member are the bytes encodeHeader writes for the same dictionary")
    func headers() throws {
        let keys = try AgencyKeyPair(agency: "po\"l\\ice\u{1}é", privateKey: try P256Key.generate())
        let recipient = try AgencyKeyPair(agency: "coordinator", privateKey: try P256Key.generate())
        let sealer = Sealer(sender: keys)
        let at = Date(timeIntervalSince1970: 1_790_000_000)
        let sealed = try sealer.seal([1, 2, 3], type: "t\n", messageID: "m\"1", to: recipient.publicKey, issuedAt: at)
        let parts = JOSE.parts(sealed)
        let jweHeader = try JOSE.decodeHeader(parts[0], what: "JWE header")
        let epk = try #require(jweHeader["epk"] as? [String: Any])
        let xText = try #require(epk["x"] as? String)
        let yText = try #require(epk["y"] as? String)
        let x = try #require(Base64URL.decode(Substring(xText)))
        let y = try #require(Base64URL.decode(Substring(yText)))
        let expectedJWE: [String: Any] = [
            "alg": JOSEProfile.keyManagementAlgorithm, "enc": JOSEProfile.contentEncryption,
            "kid": recipient.publicKey.kid, "typ": JOSEProfile.jweType, "cty": JOSEProfile.jwsType,
            "epk": ["kty": "EC", "crv": "P-256", "x": Base64URL.encode(x), "y": Base64URL.encode(y)],
        ]
        #expect(String(decoding: parts[0], as: UTF8.self) == (try JOSE.encodeHeader(expectedJWE)))
        let opened = try Opener(
            recipient: "coordinator", keyPairs: [recipient], trusted: TrustStore([keys.publicKey]), window: .infinity
        ).open(sealed)
        #expect(opened.type == "t\n" && opened.messageID == "m\"1" && opened.sender == keys.agency)
        let jwsHeader: [String: Any] = [
            "alg": JOSEProfile.signatureAlgorithm, "kid": keys.kid, "typ": JOSEProfile.jwsType, "cty": "t\n",
            "iss": keys.agency, "aud": recipient.agency, "jti": "m\"1", "iat": Int(at.timeIntervalSince1970),
        ]
        #expect(
            sealer.encodedJWSHeader(type: "t\n", messageID: "m\"1", to: recipient.publicKey, issuedAt: at)
                == (try JOSE.encodeHeader(jwsHeader)))
    }
}
