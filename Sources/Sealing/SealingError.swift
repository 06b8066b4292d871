/// Every failure of sealing, opening or key handling. Callers match on `code` (the services dead-letter a
/// message with the code as its reason); people read `description`, which names the file, key id or header
/// at fault and never contains message content.
public struct SealingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// Not a well-formed compact JWE or JWS: wrong number of parts, bad base64url, bad JSON header.
        case malformed
        /// Larger than the configured limit; refused before any parsing.
        case tooLarge
        /// `alg` or `enc` is not one we accept (`none`, symmetric and RSA algorithms are always refused).
        case algorithmNotAllowed
        /// The `kid` names no key we hold (encryption) or trust (signature).
        case unknownKey
        /// The content key does not unwrap or the authentication tag does not verify.
        case decryptionFailed
        /// The message is signed with a key on the revocation list (`mashctl keys revoke`).
        case keyRevoked
        /// The signature does not verify against the signer's key.
        case signatureInvalid
        /// A key used for what its `use` does not allow: a message encrypted to a signing key (`use: sig`), or
        /// signed with an encryption key (`use: enc`).
        case wrongKeyUse
        /// The signing key belongs to a different agency than the message claims to come from.
        case wrongSender
        /// The message was not addressed to us.
        case wrongRecipient
        /// `iat` is missing or outside the accepted window around now.
        case issuedOutsideWindow
        /// The message id has been seen before.
        case replay
        /// A key file is readable by group or others, or cannot be read.
        case keyFilePermissions
        /// A key or key file is not a usable P-256 key.
        case invalidKey
        /// OpenSSL failed unexpectedly.
        case cryptoFailure
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
