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
        let (header, payload, signer) = try JWSSignature.verify(jws, trusted: trusted)
        guard signer.agency == issuer else {
            throw SealingError(.wrongSender, "signed by '\(signer.agency)', not '\(issuer)'")
        }
        guard let iat = (header["iat"] as? NSNumber)?.doubleValue else {
            throw SealingError(.malformed, "the JWS header has no numeric 'iat'")
        }
        return Verified(
            payload: payload, type: header["cty"] as? String ?? "", signer: signer.agency, kid: signer.kid,
            issuedAt: Date(timeIntervalSince1970: iat))
    }
}
