import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a key is for (RFC 7517 `use`): a party signs what it sends with its signing key, and others seal to
/// its encryption key. A key without `use` (every key made before keys were split) does both.
public enum KeyUse: String, Sendable, CaseIterable {
    case sig, enc
}

/// An agency's public key as a JWK (RFC 7517): `kty` EC, `crv` P-256, `x`, `y`, the RFC 7638 thumbprint as
/// `kid`, `use` when the key does one job only, and one member of ours, `agency`, naming whose key it is (so a
/// signature can be checked against the agency a message claims to come from).
public struct AgencyPublicKey: Sendable {
    public let agency: String
    public let kid: String
    public let key: P256Key
    /// Nil: the key both signs and receives (a key made before keys were split).
    public let use: KeyUse?
    let x: [UInt8]
    let y: [UInt8]

    init(agency: String, key: P256Key, use: KeyUse? = nil) throws {
        let (x, y) = try key.publicCoordinates()
        self.agency = agency
        self.key = key
        self.use = use
        self.x = x
        self.y = y
        self.kid = AgencyPublicKey.thumbprint(x: x, y: y)
    }

    /// Whether the key may be used for `use`.
    public func serves(_ use: KeyUse) -> Bool { self.use == nil || self.use == use }

    /// RFC 7638: SHA-256 over the required members in lexicographic order, no white space, base64url.
    static func thumbprint(x: [UInt8], y: [UInt8]) -> String {
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}"#
        return Base64URL.encode(Crypto.sha256(Array(canonical.utf8)))
    }

    /// The JWK as JSON, for the trust directories of partners.
    public var jwk: [String: String] {
        var jwk = [
            "kty": "EC", "crv": "P-256", "x": Base64URL.encode(x), "y": Base64URL.encode(y), "kid": kid,
            "agency": agency,
        ]
        jwk["use"] = use?.rawValue
        return jwk
    }

    public func jwkJSON() -> [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: jwk, options: [.sortedKeys, .prettyPrinted])
        return Array(data) + [0x0A]
    }

    /// Reads a JWK. The `kid`, when present, must be the key's thumbprint; `agency` is required.
    public static func parse(jwk data: [UInt8], source: String) throws -> AgencyPublicKey {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else {
            throw SealingError(.invalidKey, "\(source): not a JSON object")
        }
        func member(_ name: String) throws -> String {
            guard let value = object[name] as? String, !value.isEmpty else {
                throw SealingError(.invalidKey, "\(source): missing string member '\(name)'")
            }
            return value
        }
        guard try member("kty") == "EC", try member("crv") == "P-256" else {
            throw SealingError(.invalidKey, "\(source): only EC keys on P-256 are accepted (kty EC, crv P-256)")
        }
        guard let x = Base64URL.decode(Substring(try member("x"))), let y = Base64URL.decode(Substring(try member("y")))
        else { throw SealingError(.invalidKey, "\(source): 'x' and 'y' must be base64url") }
        var use: KeyUse?
        if let text = object["use"] {
            guard let parsed = (text as? String).flatMap(KeyUse.init(rawValue:)) else {
                throw SealingError(.invalidKey, "\(source): 'use' must be \"sig\" or \"enc\"")
            }
            use = parsed
        }
        let key = try AgencyPublicKey(
            agency: try member("agency"), key: try P256Key.publicKey(x: x, y: y), use: use)
        if let kid = object["kid"] as? String, kid != key.kid {
            throw SealingError(.invalidKey, "\(source): 'kid' \(kid) is not the key's RFC 7638 thumbprint \(key.kid)")
        }
        return key
    }
}

/// One of an agency's own key pairs, loaded from its PEM file.
public struct AgencyKeyPair: Sendable {
    public let agency: String
    public let privateKey: P256Key
    public let publicKey: AgencyPublicKey
    /// The file it came from, when it came from one.
    public let file: String?

    public var kid: String { publicKey.kid }
    public var use: KeyUse? { publicKey.use }

    private init(agency: String, privateKey: P256Key, publicKey: AgencyPublicKey, file: String?) {
        self.agency = agency
        self.privateKey = privateKey
        self.publicKey = publicKey
        self.file = file
    }

    /// The same pair, recorded as stored in `file`.
    func stored(at file: String) -> AgencyKeyPair {
        AgencyKeyPair(agency: agency, privateKey: privateKey, publicKey: publicKey, file: file)
    }

    public init(agency: String, privateKey: P256Key, file: String? = nil, use: KeyUse? = nil) throws {
        guard privateKey.hasPrivateKey else {
            throw SealingError(.invalidKey, "\(file ?? "key"): a key pair needs the private key")
        }
        self.agency = agency
        self.privateKey = privateKey
        self.publicKey = try AgencyPublicKey(agency: agency, key: privateKey, use: use)
        self.file = file
    }
}

extension [AgencyKeyPair] {
    /// The newest pair that may sign (pairs are listed newest first): what a party's messages are signed with.
    public func signingPair() throws -> AgencyKeyPair {
        guard let pair = first(where: { $0.publicKey.serves(.sig) }) else {
            throw SealingError(
                .invalidKey,
                "\(first?.agency ?? "the party") has no signing key (use: sig); make one with mashctl keys generate")
        }
        return pair
    }
}

/// Where keys live on disk:
///
///     <directory>/<agency>/<created>-<kid>.pem    private key, PKCS #8 PEM, mode 0600
///     <directory>/<agency>/<created>-<kid>.jwk    public key (JWK), to hand to partners
///
/// `<created>` is a UTC timestamp (yyyyMMdd'T'HHmmss'Z'), so names sort oldest to newest: new messages are
/// sealed with the newest key and older keys stay usable for opening during a rotation.
public enum KeyDirectory {
    /// Generates a key pair for `agency` and writes both files. Returns the pair. Without `use` the key both
    /// signs and receives, as every key did before keys were split.
    @discardableResult
    public static func generate(agency: String, in directory: String, now: Date = Date(), use: KeyUse? = nil)
        throws -> AgencyKeyPair
    {
        try validate(agency: agency)
        let folder = (directory as NSString).appendingPathComponent(agency)
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let pair = try AgencyKeyPair(agency: agency, privateKey: try P256Key.generate(), use: use)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let stem = (folder as NSString).appendingPathComponent("\(formatter.string(from: now))-\(pair.kid)")
        try write(try pair.privateKey.privatePEM(), to: stem + ".pem", mode: 0o600)
        try write(pair.publicKey.jwkJSON(), to: stem + ".jwk", mode: 0o644)
        return pair.stored(at: stem + ".pem")
    }

    /// Every key pair of `agency`, newest first. Fails if there is none.
    public static func keyPairs(agency: String, in directory: String) throws -> [AgencyKeyPair] {
        let pems = try files(agency: agency, ending: ".pem", in: directory)
        guard !pems.isEmpty else {
            let folder = (directory as NSString).appendingPathComponent(agency)
            throw SealingError(
                .invalidKey,
                "no private keys for '\(agency)' in \(folder) (make one with: mashctl keys generate --agency \(agency) --out \(directory))"
            )
        }
        return try pems.map { path in
            try AgencyKeyPair(agency: agency, privateKey: try loadPrivateKey(path), file: path, use: try use(of: path))
        }
    }

    /// Generates a signing key and an encryption key for `agency` (what `mashctl keys generate` makes): they
    /// become the party's newest of each kind, and an older key without `use` still opens and verifies what
    /// was sealed with it. Returns the signing pair, then the encryption pair.
    @discardableResult
    public static func generateSplit(agency: String, in directory: String, now: Date = Date()) throws -> (
        signing: AgencyKeyPair, encryption: AgencyKeyPair
    ) {
        (
            try generate(agency: agency, in: directory, now: now, use: .sig),
            try generate(agency: agency, in: directory, now: now, use: .enc)
        )
    }

    /// The `use` of the key in `pem`, from the public key written beside it; nil (both) when there is none.
    public static func use(of pem: String) throws -> KeyUse? {
        let jwk = String(pem.dropLast(4)) + ".jwk"
        guard let data = FileManager.default.contents(atPath: jwk) else { return nil }
        return try AgencyPublicKey.parse(jwk: Array(data), source: jwk).use
    }

    /// The paths of `agency`'s files whose names end with `suffix` (`.pem`, `.jwk`), newest first.
    public static func files(agency: String, ending suffix: String, in directory: String) throws -> [String] {
        try validate(agency: agency)
        let folder = (directory as NSString).appendingPathComponent(agency)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted(by: >).map {
            (folder as NSString).appendingPathComponent($0)
        }
    }

    /// The newest public key of `agency` in `directory` that is not revoked (what new messages to it are sealed
    /// with).
    public static func newestPublicKey(
        agency: String, in directory: String, revocations: KeyRevocations? = nil
    ) throws -> AgencyPublicKey {
        let revoked = try revocations ?? KeyRevocations.load(directory: directory)
        let folder = (directory as NSString).appendingPathComponent(agency)
        var skipped = 0
        for path in try files(agency: agency, ending: ".jwk", in: directory) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SealingError(.unknownKey, "\(path): cannot read the public key")
            }
            let key = try AgencyPublicKey.parse(jwk: Array(data), source: path)
            guard key.agency == agency else {
                throw SealingError(.invalidKey, "\(path) belongs to '\(key.agency)', not '\(agency)'")
            }
            guard key.serves(.enc) else { continue }
            if revoked.revocation(of: key.kid) != nil {
                skipped += 1
                continue
            }
            return key
        }
        throw SealingError(
            .unknownKey,
            skipped == 0
                ? "no public key (.jwk) for '\(agency)' in \(folder)"
                : "every public key of '\(agency)' in \(folder) is revoked (\(skipped)); add a new one")
    }

    /// Reads a PEM private key, refusing a file that group or others can read.
    public static func loadPrivateKey(_ path: String) throws -> P256Key {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SealingError(
                .keyFilePermissions, "\(path): cannot read the key file (\(String(cString: strerror(errno))))")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw SealingError(
                .keyFilePermissions,
                "\(path) is readable by group or others (mode \(String(mode, radix: 8))); a private key must be "
                    + "private to its owner. Fix it with: chmod 600 \(path)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SealingError(.keyFilePermissions, "\(path): cannot read the key file")
        }
        return try P256Key.privateKey(pem: Array(data), source: path)
    }

    private static func write(_ bytes: [UInt8], to path: String, mode: Int) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: mode]),
            let handle = FileHandle(forWritingAtPath: path)
        else { throw SealingError(.keyFilePermissions, "\(path): cannot create the file") }
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(bytes))
    }

    static func validate(agency: String) throws {
        let allowed = agency.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
        guard !agency.isEmpty, allowed, !agency.hasPrefix("."), !agency.contains("..") else {
            throw SealingError(
                .invalidKey,
                "id '\(agency)' must be lower-case letters, digits and '-' (a party), or with a '.' (a staff member)")
        }
    }
}

/// The public keys we accept signatures from, by `kid`. Loaded from every `*.jwk` file in a directory and its
/// agency subdirectories (the layout `KeyDirectory` writes, or a flat folder of partners' JWKs).
public struct TrustStore: Sendable {
    public private(set) var keys: [String: AgencyPublicKey] = [:]
    /// Keys whose signatures are refused (`keyRevoked`) even though their files are still in the folder.
    public var revocations = KeyRevocations()

    public init(_ keys: [AgencyPublicKey] = [], revocations: KeyRevocations = KeyRevocations()) {
        for key in keys { self.keys[key.kid] = key }
        self.revocations = revocations
    }

    /// Every `.jwk` under `directory`, less the keys its own revocation list (if any) names.
    public init(directory: String, revocations: KeyRevocations? = nil) throws {
        self.revocations = try revocations ?? KeyRevocations.load(directory: directory)
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".jwk") else { continue }
            let path = (directory as NSString).appendingPathComponent(relative)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            let key = try AgencyPublicKey.parse(jwk: Array(data), source: path)
            keys[key.kid] = key
        }
    }

    public mutating func add(_ key: AgencyPublicKey) { keys[key.kid] = key }

    public subscript(kid: String) -> AgencyPublicKey? { keys[kid] }
}
