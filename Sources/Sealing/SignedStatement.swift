import Foundation

/// A statement signed but not encrypted: a compact JWS (ES256) anyone holding the signer's public key can check,
/// for what carries no personal data and is meant to be kept apart from the hub (the record of sharing's
/// checkpoints). Header: `alg`, `kid`, `typ` `mash+jws`, `cty` (the statement's type), `iss`, `iat`.
public enum SignedStatement {
    public struct Verified: Sendable, Equatable {
        public var payload: [UInt8]
        public var type: String
        public var signer: String
        public var kid: String
        public var issuedAt: Date
    }

    public static func sign(_ payload: [UInt8], type: String, by signer: AgencyKeyPair, at: Date) throws -> String {
        try Sealer(sender: signer).sign(
            header: [
                "alg": JOSEProfile.signatureAlgorithm, "kid": signer.kid, "typ": JOSEProfile.jwsType, "cty": type,
                "iss": signer.agency, "iat": Int(at.timeIntervalSince1970),
            ], payload: payload)
    }

    /// Checks the signature against `trusted` (revoked keys refused) and that the signer is `issuer`.
    public static func verify(_ jws: String, trusted: TrustStore, issuer: String) throws -> Verified {
        let parts = JOSE.parts(jws)
        guard parts.count == 3 else { throw SealingError(.malformed, "not a compact JWS (\(parts.count) parts)") }
        let header = try JOSE.decodeHeader(parts[0], what: "JWS header")
        try JOSE.refuseCritical(header, what: "JWS header")
        guard header["alg"] as? String == JOSEProfile.signatureAlgorithm else {
            throw SealingError(.algorithmNotAllowed, "JWS alg must be \(JOSEProfile.signatureAlgorithm)")
        }
        let kid = header["kid"] as? String ?? ""
        if trusted.revocations.revocation(of: kid) != nil {
            throw SealingError(.keyRevoked, "signed with key '\(kid)', which is revoked")
        }
        guard let key = trusted[kid] else {
            throw SealingError(.unknownKey, "signed with key '\(kid)', which is not trusted")
        }
        guard let payload = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2]) else {
            throw SealingError(.malformed, "a JWS part is not base64url")
        }
        let input = Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1])
        guard Crypto.es256Verify(key: key.key, message: input, signature: signature) else {
            throw SealingError(.signatureInvalid, "the signature does not verify against key '\(kid)'")
        }
        guard key.agency == issuer, header["iss"] as? String == issuer else {
            throw SealingError(.wrongSender, "signed by '\(key.agency)', not '\(issuer)'")
        }
        guard let iat = (header["iat"] as? NSNumber)?.doubleValue else {
            throw SealingError(.malformed, "the JWS header has no numeric 'iat'")
        }
        return Verified(
            payload: payload, type: header["cty"] as? String ?? "", signer: key.agency, kid: kid,
            issuedAt: Date(timeIntervalSince1970: iat))
    }
}
