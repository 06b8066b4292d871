import Foundation
import JSONText

/// The JOSE profile every MASH message uses (docs/protocol.md, "Sealed messages"):
/// a compact JWS (ES256) signed by the sender, nested as the plaintext of a compact JWE
/// (ECDH-ES+A256KW with A256GCM) encrypted to the addressee.
public enum JOSEProfile {
    public static let signatureAlgorithm = "ES256"
    public static let keyManagementAlgorithm = "ECDH-ES+A256KW"
    public static let contentEncryption = "A256GCM"
    public static let jwsType = "mash+jws"
    public static let jweType = "mash+jwe"
}

/// What an opened message says about itself, once decrypted and verified.
public struct OpenedMessage: Sendable, Equatable {
    public var payload: [UInt8]
    /// The document type (`cty` of the JWS), e.g. `research-request`.
    public var type: String
    public var messageID: String
    public var sender: String
    public var recipient: String
    public var issuedAt: Date
    public var signingKeyID: String
    public var encryptionKeyID: String
}

/// Seals payloads from one agency: signs with its newest key and encrypts to the addressee's public key.
public struct Sealer: Sendable {
    public let sender: AgencyKeyPair

    public init(sender: AgencyKeyPair) { self.sender = sender }

    public func seal(
        _ payload: [UInt8], type: String, messageID: String, to recipient: AgencyPublicKey, issuedAt: Date = Date()
    ) throws -> String {
        guard sender.publicKey.serves(.sig), recipient.serves(.enc) else {
            throw SealingError(
                .wrongKeyUse,
                recipient.serves(.enc)
                    ? "key '\(sender.kid)' of \(sender.agency) is an encryption key (use: enc); sign with its signing key"
                    : "key '\(recipient.kid)' of \(recipient.agency) is a signing key (use: sig); seal to its encryption key"
            )
        }
        let header = encodedJWSHeader(type: type, messageID: messageID, to: recipient, issuedAt: issuedAt)
        return try encrypt(try sign(encodedHeader: header, payload: payload), to: recipient)
    }

    /// The JWS header: its members written in the byte order of their names, the bytes `JOSE.encodeHeader`
    /// writes for the same dictionary, without building one.
    func encodedJWSHeader(type: String, messageID: String, to recipient: AgencyPublicKey, issuedAt: Date) -> String {
        var header = JOSE.HeaderWriter()
        header.member("alg", JOSEProfile.signatureAlgorithm)
        header.member("aud", recipient.agency)
        header.member("cty", type)
        header.member("iat", Int(issuedAt.timeIntervalSince1970))
        header.member("iss", sender.agency)
        header.member("jti", messageID)
        header.member("kid", sender.kid)
        header.member("typ", JOSEProfile.jwsType)
        return header.encoded()
    }

    /// A compact JWS over `payload` with exactly `header` (tests use it to forge headers).
    func sign(header: [String: Any], payload: [UInt8]) throws -> String {
        try sign(encodedHeader: try JOSE.encodeHeader(header), payload: payload)
    }

    private func sign(encodedHeader: String, payload: [UInt8]) throws -> String {
        let signingInput = encodedHeader + "." + Base64URL.encode(payload)
        let signature = try Crypto.es256Sign(key: sender.privateKey, message: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// A compact JWE of `jws` to `recipient`; `headerOverrides` replace members of the protected header.
    func encrypt(_ jws: String, to recipient: AgencyPublicKey, headerOverrides: [String: Any] = [:]) throws -> String {
        let ephemeral = try P256Key.generate()
        let (ex, ey) = try ephemeral.publicCoordinates()
        var header = JOSE.HeaderWriter()
        header.member("alg", JOSEProfile.keyManagementAlgorithm)
        header.member("cty", JOSEProfile.jwsType)
        header.member("enc", JOSEProfile.contentEncryption)
        header.beginObject("epk")
        header.member("crv", "P-256")
        header.member("kty", "EC")
        header.member("x", Base64URL.encode(ex))
        header.member("y", Base64URL.encode(ey))
        header.endObject()
        header.member("kid", recipient.kid)
        header.member("typ", JOSEProfile.jweType)
        var protected = header.encoded()
        if !headerOverrides.isEmpty {
            let merged = try JOSE.decodeHeader(Substring(protected), what: "JWE header")
                .merging(headerOverrides) { _, new in new }
            protected = try JOSE.encodeHeader(merged)
        }
        let kek = try JOSE.keyEncryptionKey(
            secret: try Crypto.ecdh(privateKey: ephemeral, peer: recipient.key), apu: [], apv: [])
        let cek = try Crypto.randomBytes(32)
        let wrapped = try Crypto.aesKeyWrap(kek: kek, key: cek)
        let iv = try Crypto.randomBytes(12)
        let (ciphertext, tag) = try Crypto.aesGCMSeal(
            key: cek, iv: iv, plaintext: Array(jws.utf8), aad: Array(protected.utf8))
        return [
            protected, Base64URL.encode(wrapped), Base64URL.encode(iv), Base64URL.encode(ciphertext),
            Base64URL.encode(tag),
        ]
        .joined(separator: ".")
    }
}

/// Opens messages addressed to one agency: decrypts with any of its key pairs (so messages sealed to a key
/// being rotated out still open), verifies the signature against the trusted keys, and checks the sender,
/// addressee, issue time and message id. Every refusal is a `SealingError` with its own code.
public struct Opener: Sendable {
    public let recipient: String
    public var keyPairs: [AgencyKeyPair]
    public var trusted: TrustStore
    /// Largest sealed message accepted, in bytes; anything larger is refused before it is parsed.
    public var maximumSize: Int
    /// How far `iat` may be from now, either way.
    public var window: TimeInterval
    /// Called with each verified message id: returns true if the id was seen before (a replay). The services
    /// back it with their inbox table.
    public var isReplay: @Sendable (String) throws -> Bool

    public init(
        recipient: String, keyPairs: [AgencyKeyPair], trusted: TrustStore, maximumSize: Int = 1 << 20,
        window: TimeInterval = 300, isReplay: @escaping @Sendable (String) throws -> Bool = { _ in false }
    ) {
        self.recipient = recipient
        self.keyPairs = keyPairs
        self.trusted = trusted
        self.maximumSize = maximumSize
        self.window = window
        self.isReplay = isReplay
    }

    public func open(_ sealed: String, now: Date = Date()) throws -> OpenedMessage {
        guard sealed.utf8.count <= maximumSize else {
            throw SealingError(.tooLarge, "the message is \(sealed.utf8.count) bytes; the limit is \(maximumSize)")
        }
        let parts = JOSE.parts(sealed)
        guard parts.count == 5 else {
            throw SealingError(.malformed, "a compact JWE has 5 parts separated by '.', this has \(parts.count)")
        }
        let header = try JOSE.decodeHeader(parts[0], what: "JWE header")
        try JOSE.refuseCritical(header, what: "JWE header")
        let alg = header["alg"] as? String ?? "(missing)"
        let enc = header["enc"] as? String ?? "(missing)"
        guard alg == JOSEProfile.keyManagementAlgorithm else {
            throw SealingError(
                .algorithmNotAllowed, "JWE alg '\(alg)' is not accepted; use \(JOSEProfile.keyManagementAlgorithm)")
        }
        guard enc == JOSEProfile.contentEncryption else {
            throw SealingError(
                .algorithmNotAllowed, "JWE enc '\(enc)' is not accepted; use \(JOSEProfile.contentEncryption)")
        }
        guard header["zip"] == nil else {
            throw SealingError(.algorithmNotAllowed, "compressed JWE (zip) is not accepted")
        }
        let kid = header["kid"] as? String ?? ""
        guard let keyPair = keyPairs.first(where: { $0.kid == kid }) else {
            throw SealingError(
                .unknownKey, "the message is encrypted to key '\(kid)', which \(recipient) does not hold")
        }
        guard keyPair.publicKey.serves(.enc) else {
            throw SealingError(
                .wrongKeyUse, "the message is encrypted to key '\(kid)' of \(recipient), a signing key (use: sig)")
        }
        guard let epk = header["epk"] as? [String: Any], epk["kty"] as? String == "EC",
            epk["crv"] as? String == "P-256",
            let ex = (epk["x"] as? String).flatMap({ Base64URL.decode(Substring($0)) }),
            let ey = (epk["y"] as? String).flatMap({ Base64URL.decode(Substring($0)) })
        else { throw SealingError(.malformed, "the JWE header has no valid P-256 'epk'") }
        let ephemeral: P256Key
        do { ephemeral = try P256Key.publicKey(x: ex, y: ey) } catch {
            throw SealingError(.malformed, "the JWE 'epk' is not a point on P-256")
        }
        let apu = try JOSE.optionalBytes(header, "apu")
        let apv = try JOSE.optionalBytes(header, "apv")
        guard let wrapped = Base64URL.decode(parts[1]), let iv = Base64URL.decode(parts[2]),
            let ciphertext = Base64URL.decode(parts[3]), let tag = Base64URL.decode(parts[4])
        else { throw SealingError(.malformed, "a JWE part is not base64url") }

        let kek = try JOSE.keyEncryptionKey(
            secret: try Crypto.ecdh(privateKey: keyPair.privateKey, peer: ephemeral), apu: apu, apv: apv)
        let cek = try Crypto.aesKeyUnwrap(kek: kek, wrapped: wrapped)
        let plaintext = try Crypto.aesGCMOpen(
            key: cek, iv: iv, ciphertext: ciphertext, tag: tag, aad: Array(parts[0]))
        var opened = try verify(plaintext, now: now)
        opened.encryptionKeyID = kid
        return opened
    }

    private func verify(_ jws: [UInt8], now: Date) throws -> OpenedMessage {
        let (header, payload, signer) = try JWSSignature.verify(jws, trusted: trusted)
        let kid = signer.kid
        let audience = header["aud"] as? String ?? "(missing)"
        guard audience == recipient else {
            throw SealingError(.wrongRecipient, "the message is addressed to '\(audience)', not '\(recipient)'")
        }
        guard let iat = (header["iat"] as? NSNumber)?.doubleValue else {
            throw SealingError(.issuedOutsideWindow, "the JWS header has no numeric 'iat'")
        }
        let issuedAt = Date(timeIntervalSince1970: iat)
        guard abs(issuedAt.timeIntervalSince(now)) <= window else {
            throw SealingError(
                .issuedOutsideWindow,
                "issued at \(ISO8601DateFormatter().string(from: issuedAt)), more than \(Int(window)) s from now")
        }
        guard let messageID = header["jti"] as? String, !messageID.isEmpty else {
            throw SealingError(.malformed, "the JWS header has no message id ('jti')")
        }
        guard let type = header["cty"] as? String, !type.isEmpty else {
            throw SealingError(.malformed, "the JWS header has no document type ('cty')")
        }
        if try isReplay(messageID) {
            throw SealingError(.replay, "message \(messageID) has been received before")
        }
        return OpenedMessage(
            payload: payload, type: type, messageID: messageID, sender: signer.agency, recipient: audience,
            issuedAt: issuedAt, signingKeyID: kid, encryptionKeyID: "")
    }
}

enum JOSE {
    static func encodeHeader(_ header: [String: Any]) throws -> String {
        var json: [UInt8] = []
        try writeJSON(header, to: &json)
        return Base64URL.encode(json)
    }

    /// JSON for header values: strings, integers, booleans, arrays and objects (keys in byte order).
    /// Written by hand because Foundation's serializer sorts keys with a locale-aware comparison that costs
    /// more than the signature.
    static func writeJSON(_ value: Any, to out: inout [UInt8]) throws {
        switch value {
        case let string as String:
            writeJSON(string: string, to: &out)
        case let bool as Bool:
            out += Array((bool ? "true" : "false").utf8)
        case let int as Int:
            out += Array(String(int).utf8)
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (i, element) in array.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try writeJSON(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            for (i, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                try writeJSON(key, to: &out)
                out.append(UInt8(ascii: ":"))
                try writeJSON(object[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            throw SealingError(.malformed, "a header value of type \(type(of: value)) cannot be encoded")
        }
    }

    static func writeJSON(string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A header written member by member, names given in byte order: the bytes `encodeHeader` writes for the
    /// same members, without a dictionary, a sort or a cast per member.
    struct HeaderWriter {
        private var json: [UInt8] = [UInt8(ascii: "{")]
        private var first = true

        init() { json.reserveCapacity(320) }

        private mutating func name(_ name: StaticString) {
            if !first { json.append(UInt8(ascii: ",")) }
            first = false
            json.append(UInt8(ascii: "\""))
            json.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            json.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }

        mutating func member(_ name: StaticString, _ value: String) {
            self.name(name)
            JOSE.writeJSON(string: value, to: &json)
        }

        mutating func member(_ name: StaticString, _ value: Int) {
            self.name(name)
            json.append(contentsOf: String(value).utf8)
        }

        mutating func beginObject(_ name: StaticString) {
            self.name(name)
            json.append(UInt8(ascii: "{"))
            first = true
        }

        mutating func endObject() {
            json.append(UInt8(ascii: "}"))
            first = false
        }

        func encoded() -> String { Base64URL.encode(json + [UInt8(ascii: "}")]) }
    }

    /// The '.'-separated parts of a compact serialization, as bytes.
    static func parts(_ compact: String) -> [ArraySlice<UInt8>] {
        parts(Array(compact.utf8))
    }

    static func parts(_ compact: [UInt8]) -> [ArraySlice<UInt8>] {
        compact.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
    }

    static func decodeHeader(_ part: Substring, what: String) throws -> [String: Any] {
        try decodeHeader(ArraySlice(part.utf8), what: what)
    }

    static func decodeHeader(_ part: ArraySlice<UInt8>, what: String) throws -> [String: Any] {
        // JSONText, not Foundation's parser (which cost more than the AES): strict RFC 8259, so a header
        // naming a member twice is refused rather than read one way here and another by the sender.
        guard let bytes = Base64URL.decode(part), let object = try? JSONText.parse(bytes) as? [String: Any] else {
            throw SealingError(.malformed, "the \(what) is not base64url-encoded JSON")
        }
        return object
    }

    /// RFC 7515 §4.1.11: a recipient must refuse a message with critical extensions it does not understand.
    static func refuseCritical(_ header: [String: Any], what: String) throws {
        if let crit = header["crit"] {
            throw SealingError(.malformed, "the \(what) lists critical extensions we do not support: \(crit)")
        }
    }

    static func optionalBytes(_ header: [String: Any], _ name: String) throws -> [UInt8] {
        guard let value = header[name] else { return [] }
        guard let text = value as? String, let bytes = Base64URL.decode(Substring(text)) else {
            throw SealingError(.malformed, "the JWE header '\(name)' is not base64url")
        }
        return bytes
    }

    /// RFC 7518 §4.6.2: the key-encryption key for ECDH-ES+A256KW from the shared secret, with AlgorithmID the
    /// `alg` value and SuppPubInfo the key length in bits.
    static func keyEncryptionKey(secret: [UInt8], apu: [UInt8], apv: [UInt8]) throws -> [UInt8] {
        func lengthPrefixed(_ bytes: [UInt8]) -> [UInt8] { bigEndian32(UInt32(bytes.count)) + bytes }
        let otherInfo =
            lengthPrefixed(Array(JOSEProfile.keyManagementAlgorithm.utf8)) + lengthPrefixed(apu) + lengthPrefixed(apv)
            + bigEndian32(256)
        return try Crypto.concatKDF(secret: secret, otherInfo: otherInfo, length: 32)
    }

    static func bigEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }
}

/// The signature checks every compact JWS gets, sealed inside a message or standing alone: three parts, no
/// `crit`, `ES256`, a `kid` neither revoked nor unknown, a signature that verifies, and an `iss` that is the
/// signing key's party. Returns the header, the payload and the signing key.
enum JWSSignature {
    static func verify(_ jws: String, trusted: TrustStore) throws -> (
        header: [String: Any], payload: [UInt8], signer: AgencyPublicKey
    ) {
        try verify(Array(jws.utf8), trusted: trusted)
    }

    static func verify(_ jws: [UInt8], trusted: TrustStore) throws -> (
        header: [String: Any], payload: [UInt8], signer: AgencyPublicKey
    ) {
        let parts = JOSE.parts(jws)
        guard parts.count == 3 else {
            throw SealingError(.malformed, "the content is not a compact JWS (\(parts.count) parts)")
        }
        let header = try JOSE.decodeHeader(parts[0], what: "JWS header")
        try JOSE.refuseCritical(header, what: "JWS header")
        let alg = header["alg"] as? String ?? "(missing)"
        guard alg == JOSEProfile.signatureAlgorithm else {
            throw SealingError(
                .algorithmNotAllowed, "JWS alg '\(alg)' is not accepted; use \(JOSEProfile.signatureAlgorithm)")
        }
        let kid = header["kid"] as? String ?? ""
        if let revoked = trusted.revocations.revocation(of: kid) {
            throw SealingError(
                .keyRevoked,
                "the message is signed with key '\(kid)' of \(revoked.agency), revoked at "
                    + "\(ISO8601DateFormatter().string(from: revoked.revokedAt))")
        }
        guard let signer = trusted[kid] else {
            throw SealingError(.unknownKey, "the message is signed with key '\(kid)', which is not trusted")
        }
        guard signer.serves(.sig) else {
            throw SealingError(
                .wrongKeyUse,
                "the message is signed with key '\(kid)' of \(signer.agency), an encryption key (use: enc)")
        }
        guard let payload = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]) else {
            throw SealingError(.malformed, "a JWS part is not base64url")
        }
        let signingInput = jws[parts[0].startIndex..<parts[1].endIndex]
        guard Crypto.es256Verify(key: signer.key, message: signingInput, signature: signature) else {
            throw SealingError(
                .signatureInvalid, "the signature does not verify against key '\(kid)' of \(signer.agency)")
        }
        let issuer = header["iss"] as? String ?? "(missing)"
        guard issuer == signer.agency else {
            throw SealingError(
                .wrongSender,
                "the message claims to come from '\(issuer)' but is signed with a key of '\(signer.agency)'")
        }
        return (header, payload, signer)
    }
}
