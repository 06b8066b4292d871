import Foundation

/// Encryption at rest for personal data in the coordinator's store: AES-256-GCM under a named data key.
/// A sealed value is `0x01 ‖ key-id length (1 byte) ‖ key id ‖ IV (12) ‖ tag (16) ‖ ciphertext`, so values
/// written under an older key still open after the current key changes. `context` is bound as associated data
/// (for example the table, column and row id), so a value copied to another row does not open there.
public struct DataKeyring: Sendable {
    public struct DataKey: Sendable {
        public let id: String
        let bytes: [UInt8]
        /// For pseudonyms; nil only if OpenSSL could not prepare it (then they are computed the long way).
        let hmac: HMACKey?

        public init(id: String, bytes: [UInt8]) throws {
            guard bytes.count == 32 else { throw SealingError(.invalidKey, "data key '\(id)' must be 32 bytes") }
            guard !id.isEmpty, id.utf8.count <= 255 else {
                throw SealingError(.invalidKey, "a data key id must be 1 to 255 bytes")
            }
            self.id = id
            self.bytes = bytes
            hmac = HMACKey(bytes)
        }

        public static func generate(id: String) throws -> DataKey {
            try DataKey(id: id, bytes: try Crypto.randomBytes(32))
        }
    }

    public let current: DataKey
    private let keys: [String: DataKey]

    /// `current` seals new values; `others` (older keys) still open what they sealed.
    public init(current: DataKey, others: [DataKey] = []) {
        self.current = current
        var keys: [String: DataKey] = [:]
        for key in others + [current] { keys[key.id] = key }
        self.keys = keys
    }

    public func seal(_ plaintext: [UInt8], context: [UInt8]) throws -> [UInt8] {
        let iv = try Crypto.randomBytes(12)
        let (ciphertext, tag) = try Crypto.aesGCMSeal(key: current.bytes, iv: iv, plaintext: plaintext, aad: context)
        let id = Array(current.id.utf8)
        return [0x01, UInt8(id.count)] + id + iv + tag + ciphertext
    }

    /// The id of the key `sealed` was sealed under; nil if it is not a sealed value.
    public static func keyID(of sealed: [UInt8]) -> String? {
        guard sealed.count >= 2, sealed[0] == 0x01, sealed.count >= 2 + Int(sealed[1]) else { return nil }
        return String(decoding: sealed[2..<(2 + Int(sealed[1]))], as: UTF8.self)
    }

    public func open(_ sealed: [UInt8], context: [UInt8]) throws -> [UInt8] {
        guard sealed.count >= 2, sealed[0] == 0x01 else {
            throw SealingError(.malformed, "not a sealed value (unknown format version)")
        }
        let idLength = Int(sealed[1])
        guard sealed.count >= 2 + idLength + 28 else { throw SealingError(.malformed, "the sealed value is truncated") }
        let id = String(decoding: sealed[2..<(2 + idLength)], as: UTF8.self)
        guard let key = keys[id] else { throw SealingError(.unknownKey, "data key '\(id)' is not in the keyring") }
        let ivStart = 2 + idLength
        return try Crypto.aesGCMOpen(
            key: key.bytes, iv: Array(sealed[ivStart..<(ivStart + 12)]),
            ciphertext: Array(sealed[(ivStart + 28)...]), tag: Array(sealed[(ivStart + 12)..<(ivStart + 28)]),
            aad: context)
    }
}

extension DataKeyring {
    /// `key`'s bytes sealed under this keyring (a key store keeps data keys wrapped by the data-at-rest key).
    public func wrap(_ key: DataKey, context: [UInt8]) throws -> [UInt8] { try seal(key.bytes, context: context) }

    /// The data key `wrap` sealed, named `id`.
    public func unwrap(_ wrapped: [UInt8], id: String, context: [UInt8]) throws -> DataKey {
        try DataKey(id: id, bytes: try open(wrapped, context: context))
    }

    /// A keyed, one-way reference for `text` (HMAC-SHA-256 under the current data key, 128 bits in hex): the
    /// same person gives the same reference, and nobody without the key can work back to them.
    public func pseudonym(of text: String) -> String {
        var text = text
        let mac = text.withUTF8 { current.hmac?.mac(UnsafeRawBufferPointer($0)) }
        return Digest.hex(
            Array((mac ?? Digest.hmacSHA256(key: current.bytes, message: Array(text.utf8))).prefix(16)))
    }

    /// The data key kept in `path` (32 random bytes, mode 0600), created on first use.
    ///
    /// Two processes may start on one key folder at once (a coordinator and its standby): the new key is written
    /// to a file of this process's own and linked into place, which fails if another process's key is there
    /// first, and then that one is used. Renaming would replace it, leaving the first process sealing under a key
    /// nobody else has.
    public static func loadOrCreate(at path: String, id: String = "data-1") throws -> DataKeyring {
        if !FileManager.default.fileExists(atPath: path) {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let key = try DataKey.generate(id: id)
            let draft = path + ".\(getpid()).\(UInt64.random(in: 0...UInt64.max)).new"
            defer { unlink(draft) }
            guard
                FileManager.default.createFile(
                    atPath: draft, contents: Data(key.bytes), attributes: [.posixPermissions: 0o600])
            else { throw SealingError(.keyFilePermissions, "\(path): cannot create the data key") }
            if link(draft, path) == 0 { return DataKeyring(current: key) }
            guard errno == EEXIST else {
                throw SealingError(
                    .keyFilePermissions, "\(path): cannot create the data key (\(String(cString: strerror(errno))))")
            }
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw SealingError(
                .keyFilePermissions, "\(path) is readable by group or others; fix it with: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SealingError(.keyFilePermissions, "\(path): cannot read the data key")
        }
        return DataKeyring(current: try DataKey(id: id, bytes: Array(data)))
    }
}

/// SHA-256 and HMAC-SHA-256 for the hash-chained record of sharing and pseudonyms.
public enum Digest {
    public static func sha256(_ data: [UInt8]) -> [UInt8] { Crypto.sha256(data) }

    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? Crypto.sha256(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        let inner = Crypto.sha256(block.map { $0 ^ 0x36 } + message)
        return Crypto.sha256(block.map { $0 ^ 0x5c } + inner)
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
