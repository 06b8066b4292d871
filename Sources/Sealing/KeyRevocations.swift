import Foundation

/// The keys no longer trusted, whatever else the key folder holds: `<keys>/revocations.json`, a JSON array of
/// `{"kid", "agency", "reason", "revokedAt"}` that `mashctl keys revoke` appends to. A message signed with a
/// revoked key is refused `keyRevoked`, and nothing new is sealed to one. Its writer replaces the file whole
/// (`DurableFile`), so a reader sees the old list or the new one, never half of one.
public struct KeyRevocations: Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var kid: String
        public var agency: String
        public var reason: String
        public var revokedAt: Date

        public init(kid: String, agency: String, reason: String, revokedAt: Date) {
            self.kid = kid
            self.agency = agency
            self.reason = reason
            self.revokedAt = revokedAt
        }
    }

    public static let fileName = "revocations.json"

    public private(set) var entries: [Entry] = []
    private var byKid: [String: Entry] = [:]

    public init(_ entries: [Entry] = []) {
        for entry in entries { add(entry) }
    }

    public static func file(in directory: String) -> String {
        (directory as NSString).appendingPathComponent(fileName)
    }

    /// The list in `directory`; empty when there is no file. A file that is there but cannot be read is an error:
    /// a revocation list silently ignored would trust a compromised key.
    public static func load(directory: String) throws -> KeyRevocations {
        let path = file(in: directory)
        guard FileManager.default.fileExists(atPath: path) else { return KeyRevocations() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SealingError(.invalidKey, "\(path): cannot read the key revocation list")
        }
        do {
            return KeyRevocations(try Self.decoder.decode([Entry].self, from: data))
        } catch {
            throw SealingError(.invalidKey, "\(path): not a key revocation list (\(error))")
        }
    }

    public func revocation(of kid: String) -> Entry? { byKid[kid] }

    public mutating func add(_ entry: Entry) {
        guard byKid[entry.kid] == nil else { return }
        entries.append(entry)
        byKid[entry.kid] = entry
    }

    /// The list as the file holds it (`mashctl keys revoke` replaces the file whole with it).
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(entries)
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
