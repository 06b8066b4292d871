import COpenSSL
import Foundation
import Synchronization

/// A P-256 key held by OpenSSL: private (with its public half) or public only. The object owns its
/// `EVP_PKEY` and frees it on deinit. This file is the only one in the module that calls OpenSSL.
public final class P256Key: @unchecked Sendable {
    // EVP_PKEY is reference counted and safe to use from several threads for the read-only operations here.
    let pkey: OpaquePointer
    /// Contexts set up once for this key (signing, verifying, deriving) and copied for each use: setting one
    /// up looks the algorithm up in OpenSSL's provider tables under a lock, which cost as much as a third of a
    /// verification. Copies are made under `prepared`'s lock; a copy is used by one thread only.
    private let prepared = Mutex<PreparedContexts>(PreparedContexts())

    struct PreparedContexts: @unchecked Sendable {
        var sign: OpaquePointer?
        var verify: OpaquePointer?
        var derive: OpaquePointer?
    }

    private init(_ pkey: OpaquePointer) { self.pkey = pkey }

    deinit {
        prepared.withLock { contexts in
            EVP_MD_CTX_free(contexts.sign)
            EVP_MD_CTX_free(contexts.verify)
            EVP_PKEY_CTX_free(contexts.derive)
        }
        EVP_PKEY_free(pkey)
    }

    /// A new digest context ready to sign (`signing`) or verify with this key and SHA-256; free it after use.
    func digestContext(signing: Bool) -> OpaquePointer? {
        prepared.withLock { contexts in
            var template = signing ? contexts.sign : contexts.verify
            if template == nil {
                guard let ctx = EVP_MD_CTX_new() else { return nil }
                let ready =
                    signing
                    ? EVP_DigestSignInit(ctx, nil, Algorithms.shared.sha256, nil, pkey)
                    : EVP_DigestVerifyInit(ctx, nil, Algorithms.shared.sha256, nil, pkey)
                guard ready == 1 else {
                    EVP_MD_CTX_free(ctx)
                    return nil
                }
                template = ctx
                if signing { contexts.sign = ctx } else { contexts.verify = ctx }
            }
            guard let copy = EVP_MD_CTX_new() else { return nil }
            guard EVP_MD_CTX_copy_ex(copy, template) == 1 else {
                EVP_MD_CTX_free(copy)
                return nil
            }
            return copy
        }
    }

    /// A new context ready to derive a shared secret with this (private) key; free it after use.
    func deriveContext() -> OpaquePointer? {
        prepared.withLock { contexts in
            if contexts.derive == nil {
                guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pkey, nil) else { return nil }
                guard EVP_PKEY_derive_init(ctx) == 1 else {
                    EVP_PKEY_CTX_free(ctx)
                    return nil
                }
                contexts.derive = ctx
            }
            return EVP_PKEY_CTX_dup(contexts.derive)
        }
    }

    /// A new random key pair.
    public static func generate() throws -> P256Key {
        // From the template key's context: its curve is copied, not built again by name from the provider's
        // tables (which cost a fifth of a seal's ephemeral key).
        // A context ready for key generation is kept and used again (one per thread at a time): setting one up
        // costs a provider lookup each time.
        let algorithms = Algorithms.shared
        guard let template = algorithms.p256Template else { throw Crypto.failure("the P-256 template key") }
        var ctx = algorithms.keygenContexts.withLock { $0.popLast()?.ctx }
        if ctx == nil {
            ctx = EVP_PKEY_CTX_new_from_pkey(nil, template.pkey, nil)
            if let made = ctx, EVP_PKEY_keygen_init(made) != 1 {
                EVP_PKEY_CTX_free(made)
                ctx = nil
            }
        }
        guard let ctx else { throw Crypto.failure("EC context") }
        var pkey: OpaquePointer?
        let generated = EVP_PKEY_generate(ctx, &pkey) == 1
        if generated {
            algorithms.keygenContexts.withLock { spare in
                if spare.count < 8 { spare.append(Algorithms.Context(ctx: ctx)) } else { EVP_PKEY_CTX_free(ctx) }
            }
        } else {
            EVP_PKEY_CTX_free(ctx)
        }
        guard generated, let pkey else { throw Crypto.failure("P-256 key generation") }
        return P256Key(pkey)
    }

    /// A key built from the curve's name: how the template keys themselves are made.
    static func generateByName() throws -> P256Key {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw Crypto.failure("EC context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
            EVP_PKEY_generate(ctx, &pkey) == 1, let pkey
        else { throw Crypto.failure("P-256 key generation") }
        return P256Key(pkey)
    }

    /// A private key from PEM (PKCS #8 or SEC 1). Refuses keys that are not P-256.
    public static func privateKey(pem: [UInt8], source: String) throws -> P256Key {
        let pkey: OpaquePointer? = pem.withUnsafeBytes { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let pkey else {
            ERR_clear_error()
            throw SealingError(.invalidKey, "\(source): not a PEM private key")
        }
        let key = P256Key(pkey)
        guard key.isP256 else { throw SealingError(.invalidKey, "\(source): the key is not on curve P-256") }
        return key
    }

    /// A public key from its affine coordinates (32 bytes each), as a JWK carries them.
    public static func publicKey(x: [UInt8], y: [UInt8]) throws -> P256Key {
        guard x.count == 32, y.count == 32 else {
            throw SealingError(.invalidKey, "P-256 coordinates must be 32 bytes each")
        }
        let point = [0x04] + x + y
        // A copy of the template's public key with this point set: the curve is copied, not built again. Setting
        // the point decodes it with OpenSSL's on-curve check, as importing it by name does.
        guard let template = Algorithms.shared.p256PublicTemplate else {
            throw Crypto.failure("the P-256 public template key")
        }
        guard let pkey = EVP_PKEY_dup(template.pkey) else { throw Crypto.failure("copying the template key") }
        let key = P256Key(pkey)
        guard EVP_PKEY_set1_encoded_public_key(pkey, point, point.count) == 1 else {
            ERR_clear_error()
            throw SealingError(.invalidKey, "the coordinates are not a point on P-256")
        }
        return key
    }

    /// A public key imported by the curve's name: how the public template key itself is made.
    static func publicKeyByName(_ point: [UInt8]) throws -> P256Key {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw Crypto.failure("EC context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard let builder = OSSL_PARAM_BLD_new() else { throw Crypto.failure("parameter builder") }
        defer { OSSL_PARAM_BLD_free(builder) }
        // The builder keeps the key names and borrows the buffers until `to_param`, so all of them must
        // outlive that call: static strings for the names, and `to_param` inside the buffer's scope.
        let params = point.withUnsafeBytes { bytes -> UnsafeMutablePointer<OSSL_PARAM>? in
            guard OSSL_PARAM_BLD_push_utf8_string(builder, Crypto.cString("group"), Crypto.cString("P-256"), 0) == 1,
                OSSL_PARAM_BLD_push_octet_string(builder, Crypto.cString("pub"), bytes.baseAddress, bytes.count) == 1
            else { return nil }
            return OSSL_PARAM_BLD_to_param(builder)
        }
        guard let params else { throw Crypto.failure("EC parameters") }
        defer { OSSL_PARAM_free(params) }
        var pkey: OpaquePointer?
        guard EVP_PKEY_fromdata_init(ctx) == 1, EVP_PKEY_fromdata(ctx, &pkey, mash_selection_public_key, params) == 1,
            let pkey
        else {
            ERR_clear_error()
            throw SealingError(.invalidKey, "the coordinates are not a point on P-256")
        }
        return P256Key(pkey)
    }

    var isP256: Bool {
        var name = [CChar](repeating: 0, count: 32)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pkey, "group", &name, name.count, &length) == 1 else { return false }
        let group = Crypto.string(name)
        return group == "prime256v1" || group == "P-256"
    }

    public var hasPrivateKey: Bool {
        var bn: OpaquePointer?
        defer { BN_free(bn) }
        return EVP_PKEY_get_bn_param(pkey, "priv", &bn) == 1 && bn != nil
    }

    /// The public point's affine coordinates, 32 bytes each.
    public func publicCoordinates() throws -> (x: [UInt8], y: [UInt8]) {
        var point = [UInt8](repeating: 0, count: 65)
        var length = 0
        guard EVP_PKEY_get_octet_string_param(pkey, "encoded-pub-key", &point, point.count, &length) == 1,
            length == 65, point[0] == 0x04
        else { throw Crypto.failure("reading the public point") }
        return (Array(point[1..<33]), Array(point[33..<65]))
    }

    /// The private key as PKCS #8 PEM.
    public func privatePEM() throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Crypto.failure("memory BIO") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pkey, nil, nil, 0, nil, nil) == 1 else {
            throw Crypto.failure("writing PEM")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = mash_bio_mem_data(bio, &data)
        guard let data, length > 0 else { throw Crypto.failure("reading PEM") }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}

/// Algorithm implementations fetched once: OpenSSL 3 looks them up in its provider tables on every implicit
/// use, which costs more than a hash. Fetched objects are immutable and safe to share between threads.
final class Algorithms: @unchecked Sendable {
    static let shared = Algorithms()
    let sha256: OpaquePointer?
    let aes256GCM: OpaquePointer?
    let aes256Wrap: OpaquePointer?

    /// A P-256 key whose curve new keys copy, and a public-only one that imported points copy.
    let p256Template: P256Key?
    let p256PublicTemplate: P256Key?
    /// Key generation contexts not in use (`P256Key.generate`); a context is used by one thread at a time.
    let keygenContexts = Mutex<[Context]>([])

    struct Context: @unchecked Sendable {
        let ctx: OpaquePointer
    }

    private init() {
        p256Template = try? P256Key.generateByName()
        p256PublicTemplate = p256Template.flatMap { key in
            (try? key.publicCoordinates()).flatMap { try? P256Key.publicKeyByName([0x04] + $0.x + $0.y) }
        }
        sha256 = EVP_MD_fetch(nil, "SHA256", nil)
        aes256GCM = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
        aes256Wrap = EVP_CIPHER_fetch(nil, "AES-256-WRAP", nil)
    }
}

enum Crypto {
    /// The text of a NUL-terminated C buffer.
    static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A C string that lives as long as the program: what OpenSSL's parameter APIs need for names they keep.
    static func cString(_ literal: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(literal.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    static func failure(_ what: String) -> SealingError {
        let code = ERR_get_error()
        ERR_clear_error()
        var buffer = [CChar](repeating: 0, count: 256)
        if code != 0 { ERR_error_string_n(code, &buffer, buffer.count) }
        let detail = code != 0 ? ": " + string(buffer) : ""
        return SealingError(.cryptoFailure, "OpenSSL failed at \(what)\(detail)")
    }

    static func randomBytes(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        guard RAND_bytes(&bytes, Int32(count)) == 1 else { throw failure("random bytes") }
        return bytes
    }

    static func sha256(_ data: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = EVP_Digest(data, data.count, &digest, &length, Algorithms.shared.sha256, nil)
        return digest
    }

    /// ECDH on P-256: the shared secret Z (32 bytes).
    static func ecdh(privateKey: P256Key, peer: P256Key) throws -> [UInt8] {
        guard let ctx = privateKey.deriveContext() else { throw failure("ECDH context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        // No second validation of the peer: every public key we use came through `publicKey(x:y:)` or was made
        // here, and importing decodes the point with OpenSSL's on-curve check, which for P-256 (cofactor 1) is
        // the whole check. The full validation would cost another scalar multiplication per message.
        guard EVP_PKEY_derive_set_peer_ex(ctx, peer.pkey, 0) == 1 else {
            throw failure("ECDH with the peer key")
        }
        var length = 0
        guard EVP_PKEY_derive(ctx, nil, &length) == 1 else { throw failure("ECDH length") }
        var secret = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_derive(ctx, &secret, &length) == 1 else { throw failure("ECDH") }
        return Array(secret.prefix(length))
    }

    /// The Concat KDF of NIST SP 800-56A with SHA-256, as JWA (RFC 7518 §4.6.2) specifies: SHA-256 of a 32-bit
    /// big-endian round counter from 1, Z and OtherInfo, as many rounds as `length` needs. Hashed here with the
    /// fetched digest: OpenSSL's SSKDF looked the digest up by name on every call, and for A256KW it is one round.
    static func concatKDF(secret: [UInt8], otherInfo: [UInt8], length: Int) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(length + 32)
        var round: UInt32 = 1
        while output.count < length {
            output += sha256(JOSE.bigEndian32(round) + secret + otherInfo)
            round += 1
        }
        return Array(output.prefix(length))
    }

    /// AES-256 key wrap (RFC 3394), as A256KW.
    static func aesKeyWrap(kek: [UInt8], key: [UInt8]) throws -> [UInt8] {
        try wrap(kek: kek, input: key, encrypt: true)
    }

    /// Unwraps, or throws `decryptionFailed` when the integrity check fails (wrong key or tampered data).
    static func aesKeyUnwrap(kek: [UInt8], wrapped: [UInt8]) throws -> [UInt8] {
        guard wrapped.count == 40 else { throw SealingError(.decryptionFailed, "the wrapped key is not 40 bytes") }
        return try wrap(kek: kek, input: wrapped, encrypt: false)
    }

    private static func wrap(kek: [UInt8], input: [UInt8], encrypt: Bool) throws -> [UInt8] {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        mash_allow_key_wrap(ctx)
        guard EVP_CipherInit_ex(ctx, Algorithms.shared.aes256Wrap, nil, kek, nil, encrypt ? 1 : 0) == 1 else {
            throw failure("AES key wrap init")
        }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var length: Int32 = 0
        var final: Int32 = 0
        guard EVP_CipherUpdate(ctx, &output, &length, input, Int32(input.count)) == 1,
            EVP_CipherFinal_ex(ctx, &output[Int(length)], &final) == 1
        else {
            ERR_clear_error()
            if encrypt { throw failure("AES key wrap") }
            throw SealingError(.decryptionFailed, "the content key does not unwrap: wrong key or tampered message")
        }
        return Array(output.prefix(Int(length + final)))
    }

    /// AES-256-GCM encryption with a 96-bit IV; returns ciphertext and the 128-bit tag.
    static func aesGCMSeal(key: [UInt8], iv: [UInt8], plaintext: [UInt8], aad: [UInt8]) throws
        -> (ciphertext: [UInt8], tag: [UInt8])
    {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: 16)
        var length: Int32 = 0
        var final: Int32 = 0
        guard EVP_EncryptInit_ex(ctx, Algorithms.shared.aes256GCM, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, mash_ctrl_gcm_set_ivlen, Int32(iv.count), nil) == 1,
            EVP_EncryptInit_ex(ctx, nil, nil, key, iv) == 1,
            aad.isEmpty || EVP_EncryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
            EVP_EncryptUpdate(ctx, &ciphertext, &length, plaintext, Int32(plaintext.count)) == 1,
            EVP_EncryptFinal_ex(ctx, &ciphertext[Int(length)], &final) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, mash_ctrl_gcm_get_tag, 16, &tag) == 1
        else { throw failure("AES-GCM encryption") }
        return (Array(ciphertext.prefix(Int(length + final))), tag)
    }

    /// AES-256-GCM decryption; throws `decryptionFailed` when the tag does not verify.
    static func aesGCMOpen(key: [UInt8], iv: [UInt8], ciphertext: [UInt8], tag: [UInt8], aad: [UInt8]) throws
        -> [UInt8]
    {
        guard key.count == 32, iv.count == 12, tag.count == 16 else {
            throw SealingError(.decryptionFailed, "AES-GCM needs a 32-byte key, a 12-byte IV and a 16-byte tag")
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw failure("cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var tag = tag
        var length: Int32 = 0
        var final: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, Algorithms.shared.aes256GCM, nil, nil, nil) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, mash_ctrl_gcm_set_ivlen, 12, nil) == 1,
            EVP_DecryptInit_ex(ctx, nil, nil, key, iv) == 1,
            aad.isEmpty || EVP_DecryptUpdate(ctx, nil, &length, aad, Int32(aad.count)) == 1,
            EVP_DecryptUpdate(ctx, &plaintext, &length, ciphertext, Int32(ciphertext.count)) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, mash_ctrl_gcm_set_tag, 16, &tag) == 1
        else { throw failure("AES-GCM decryption") }
        guard EVP_DecryptFinal_ex(ctx, &plaintext[Int(length)], &final) == 1 else {
            ERR_clear_error()
            throw SealingError(.decryptionFailed, "the authentication tag does not verify: tampered or wrong key")
        }
        return Array(plaintext.prefix(Int(length + final)))
    }

    /// ES256: ECDSA P-256 with SHA-256, the signature as the 64-byte R‖S that JWS uses (not DER).
    static func es256Sign(key: P256Key, message: [UInt8]) throws -> [UInt8] {
        guard let ctx = key.digestContext(signing: true) else { throw failure("ES256 signing context") }
        defer { EVP_MD_CTX_free(ctx) }
        // The context is used once: finalising it in place spares OpenSSL a copy of its key context.
        EVP_MD_CTX_set_flags(ctx, mash_md_ctx_flag_finalise)
        var der = [UInt8](repeating: 0, count: 80)
        var length = der.count
        guard EVP_DigestSign(ctx, &der, &length, message, message.count) == 1 else { throw failure("ES256 signing") }
        let signature: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            return d2i_ECDSA_SIG(nil, &cursor, length)
        }
        guard let signature else { throw failure("reading the ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        var raw = [UInt8](repeating: 0, count: 64)
        guard BN_bn2binpad(r, &raw, 32) == 32, BN_bn2binpad(s, &raw[32], 32) == 32 else {
            throw failure("encoding the ECDSA signature")
        }
        return raw
    }

    static func es256Verify(key: P256Key, message: some ContiguousBytes, signature raw: [UInt8]) -> Bool {
        guard raw.count == 64 else { return false }
        let der = derSignature(raw)
        guard let ctx = key.digestContext(signing: false) else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        EVP_MD_CTX_set_flags(ctx, mash_md_ctx_flag_finalise)
        let verified = message.withUnsafeBytes { bytes in
            EVP_DigestVerify(ctx, der, der.count, bytes.baseAddress, bytes.count) == 1
        }
        ERR_clear_error()
        return verified
    }

    /// R‖S as the DER `SEQUENCE { INTEGER r, INTEGER s }` OpenSSL verifies: each integer without leading zero
    /// bytes (one kept for zero), and a zero byte before one whose top bit is set.
    static func derSignature(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = bytes.drop { $0 == 0 }
            if value.isEmpty { value = [0] }
            let body = (value.first! & 0x80 != 0 ? [0] : []) + Array(value)
            return [0x02, UInt8(body.count)] + body
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }
}

/// HMAC-SHA-256 under one key, with the key's inner and outer blocks hashed once: each MAC copies the two
/// prepared digest states and hashes only the message (RFC 2104), rather than four blocks and two lookups.
/// The prepared states are only read after init, so one instance serves every thread.
final class HMACKey: @unchecked Sendable {
    private let inner: OpaquePointer
    private let outer: OpaquePointer

    init?(_ key: [UInt8]) {
        guard key.count <= 64, let md = Algorithms.shared.sha256 else { return nil }
        let block = key + [UInt8](repeating: 0, count: 64 - key.count)
        func prepared(_ pad: UInt8) -> OpaquePointer? {
            guard let ctx = EVP_MD_CTX_new() else { return nil }
            let padded = block.map { $0 ^ pad }
            guard EVP_DigestInit_ex(ctx, md, nil) == 1, EVP_DigestUpdate(ctx, padded, padded.count) == 1 else {
                EVP_MD_CTX_free(ctx)
                return nil
            }
            return ctx
        }
        guard let inner = prepared(0x36) else { return nil }
        guard let outer = prepared(0x5C) else {
            EVP_MD_CTX_free(inner)
            return nil
        }
        self.inner = inner
        self.outer = outer
    }

    deinit {
        EVP_MD_CTX_free(inner)
        EVP_MD_CTX_free(outer)
    }

    func mac(_ message: UnsafeRawBufferPointer) -> [UInt8]? {
        guard let ctx = EVP_MD_CTX_new() else { return nil }
        defer { EVP_MD_CTX_free(ctx) }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_MD_CTX_copy_ex(ctx, inner) == 1, EVP_DigestUpdate(ctx, message.baseAddress, message.count) == 1,
            EVP_DigestFinal_ex(ctx, &digest, &length) == 1, EVP_MD_CTX_copy_ex(ctx, outer) == 1,
            EVP_DigestUpdate(ctx, digest, 32) == 1, EVP_DigestFinal_ex(ctx, &digest, &length) == 1
        else { return nil }
        return digest
    }
}
