import Foundation
import GRDB
import MASHCore
import Sealing

/// A signed statement of the record of sharing's head: how many entries it had and the last one's hash, at a
/// time. The coordinator signs one at an interval and sends it away from its store (the `audit.checkpoints`
/// queue, a file an operator ships elsewhere), so someone holding the store can no longer cut entries from the
/// end, or rewrite one and re-hash everything after it, without the chain disagreeing with a checkpoint.
public struct AuditCheckpoint: Sendable, Equatable {
    public static let type = "mash.audit-checkpoint/1"

    /// The sequence number of the last entry (the chain's length, purged entries included).
    public var entries: Int64
    public var hash: String
    public var at: Date

    public init(entries: Int64, hash: String, at: Date) {
        self.entries = entries
        self.hash = hash
        self.at = at
    }

    public init(json: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: json, source: source)
        let schema = try reader.string("schema")
        guard schema == Self.type else { throw reader.error("schema", "'\(schema)' is not \(Self.type)") }
        guard let entries = try reader.optionalInt("entries"), entries >= 0 else {
            throw reader.error("entries", "is required (a count)")
        }
        self.entries = Int64(entries)
        hash = try reader.string("hash")
        at = try reader.instant("at")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": Self.type, "entries": Int(entries), "hash": hash, "at": Instant.format(at),
        ])
    }

    /// A compact JWS of the checkpoint, signed by `signer`.
    public func signed(by signer: AgencyKeyPair) throws -> String {
        try SignedStatement.sign(json, type: Self.type, by: signer, at: at)
    }

    /// The checkpoint a JWS states, once its signature is checked against `trusted` keys of `issuer`.
    public static func verified(_ jws: String, trusted: TrustStore, issuer: String, source: String) throws
        -> AuditCheckpoint
    {
        let statement = try SignedStatement.verify(jws, trusted: trusted, issuer: issuer)
        guard statement.type == type else {
            throw SealingError(.malformed, "\(source): a '\(statement.type)', not a \(type)")
        }
        return try AuditCheckpoint(json: statement.payload, source: source)
    }
}

extension RecordOfSharing {
    /// What the store says against each checkpoint, oldest first: the first disagreement (the ledger was cut or
    /// rewritten after that checkpoint was signed), and how many checkpoints were checked or fell in the purged
    /// part.
    public struct CheckpointCheck: Sendable, Equatable {
        public var checked = 0
        public var purged = 0
        public var problem: String?
    }

    public static func check(_ store: HubReadModel, against checkpoints: [AuditCheckpoint]) throws -> CheckpointCheck {
        try store.reader.read { db in
            var result = CheckpointCheck()
            let cut =
                try db.tableExists("record_of_sharing_cut")
                ? Row.fetchOne(db, sql: "SELECT seq, hash FROM record_of_sharing_cut ORDER BY seq DESC LIMIT 1")
                : nil
            let purgedThrough: Int64 = cut?["seq"] ?? 0
            let last = try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record_of_sharing") ?? purgedThrough
            for checkpoint in checkpoints.sorted(by: { ($0.entries, $0.at) < ($1.entries, $1.at) }) {
                let signedAt = Instant.format(checkpoint.at)
                if checkpoint.entries < purgedThrough {
                    result.purged += 1
                    continue
                }
                let hash: String?
                if checkpoint.entries == purgedThrough {
                    hash = cut?["hash"] ?? (purgedThrough == 0 ? genesis : nil)
                } else {
                    hash = try String.fetchOne(
                        db, sql: "SELECT hash FROM record_of_sharing WHERE seq = ?", arguments: [checkpoint.entries])
                }
                guard let hash else {
                    result.problem =
                        "the checkpoint signed at \(signedAt) covers \(checkpoint.entries) entries, but the store "
                        + "ends at entry \(last): entries were cut from the end"
                    return result
                }
                guard hash == checkpoint.hash else {
                    result.problem =
                        "entry \(checkpoint.entries) is not the one the checkpoint signed at \(signedAt) covers: "
                        + "the record of sharing was rewritten at or before entry \(checkpoint.entries)"
                    return result
                }
                result.checked += 1
            }
            return result
        }
    }
}
