import Foundation
import GRDB
import MASHCore
import Sealing

/// One disclosure: who shared with whom, when, why, on what lawful basis and what kinds of data, by message
/// id and a pseudonymous subject reference. No personal data in clear.
public struct Disclosure: Sendable, Equatable {
    public var seq: Int64
    public var at: String
    public var sender: String
    public var recipient: String
    public var purpose: String
    public var lawfulBasis: String
    public var dataCategories: String
    public var messageID: String
    public var enquiryID: String
    public var subjectRef: String
    public var previousHash: String
    public var hash: String

    static let columns = [
        "seq", "at", "sender", "recipient", "purpose", "lawful_basis", "data_categories", "message_id", "enquiry_id",
        "subject_ref", "previous_hash", "hash",
    ]

    init(
        seq: Int64, at: String, sender: String, recipient: String, purpose: String, lawfulBasis: String,
        dataCategories: String, messageID: String, enquiryID: String, subjectRef: String, previousHash: String,
        hash: String
    ) {
        self.seq = seq
        self.at = at
        self.sender = sender
        self.recipient = recipient
        self.purpose = purpose
        self.lawfulBasis = lawfulBasis
        self.dataCategories = dataCategories
        self.messageID = messageID
        self.enquiryID = enquiryID
        self.subjectRef = subjectRef
        self.previousHash = previousHash
        self.hash = hash
    }

    init(row: Row) {
        seq = row["seq"]
        at = row["at"]
        sender = row["sender"]
        recipient = row["recipient"]
        purpose = row["purpose"]
        lawfulBasis = row["lawful_basis"]
        dataCategories = row["data_categories"]
        messageID = row["message_id"]
        enquiryID = row["enquiry_id"]
        subjectRef = row["subject_ref"]
        previousHash = row["previous_hash"]
        hash = row["hash"]
    }

    /// SHA-256 over every field but the hash itself, each length-prefixed so no two rows share an encoding.
    var computedHash: String {
        let fields = [
            String(seq), at, sender, recipient, purpose, lawfulBasis, dataCategories, messageID, enquiryID, subjectRef,
            previousHash,
        ]
        let encoded = fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
        return Digest.hex(Digest.sha256(Array(encoded.utf8)))
    }

    var csvFields: [String] {
        [
            String(seq), at, sender, recipient, purpose, lawfulBasis, dataCategories, messageID, enquiryID, subjectRef,
            hash,
        ]
    }
}

/// The record of sharing: an append-only, hash-chained ledger in the coordinator's store. Each entry's hash
/// covers its fields and the previous entry's hash, so changing, removing or reordering any entry breaks
/// every hash after it; triggers also refuse UPDATE and DELETE.
public enum RecordOfSharing {
    static let genesis = String(repeating: "0", count: 64)

    /// Appends a disclosure inside the caller's transaction (the one that causes the disclosure).
    static func append(
        _ db: Database, at: Date, sender: String, recipient: String, purpose: String, lawfulBasis: LawfulBasis,
        dataCategories: Set<DataCategory>, messageID: String, enquiryID: String, subjectRef: String
    ) throws {
        try append(
            db, at: at, sender: sender, recipient: recipient, purpose: purpose, lawfulBasis: lawfulBasis.description,
            dataCategories: dataCategories.sorted().map(\.rawValue).joined(separator: ","), messageID: messageID,
            enquiryID: enquiryID, subjectRef: subjectRef)
    }

    /// Records that an operator re-sent dead-lettered messages, unchanged, to the queue they died in: one entry
    /// per message, committed before any is sent. The content is sealed and unread, so the entry names the
    /// original message and the operator's reason; the original disclosure's own basis still applies.
    public static func recordReplay(
        in store: CoordinatorStore, by operatorName: String, to queue: String, reason: String,
        messages: [(messageID: String, enquiryID: String?)], at: Date
    ) throws {
        try store.write { db in
            for message in messages {
                try append(
                    db, at: at, sender: "operator:\(operatorName)", recipient: queue,
                    purpose: "dead-letter replay: \(reason)",
                    lawfulBasis: "unchanged re-send of a dead-lettered message; the original message's basis applies",
                    dataCategories: "", messageID: message.messageID, enquiryID: message.enquiryID ?? "",
                    subjectRef: "")
            }
        }
    }

    private static func append(
        _ db: Database, at: Date, sender: String, recipient: String, purpose: String, lawfulBasis: String,
        dataCategories: String, messageID: String, enquiryID: String, subjectRef: String
    ) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM record_of_sharing ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        var entry = Disclosure(
            seq: seq, at: Instant.format(at), sender: sender, recipient: recipient, purpose: purpose,
            lawfulBasis: lawfulBasis, dataCategories: dataCategories, messageID: messageID,
            enquiryID: enquiryID, subjectRef: subjectRef, previousHash: last?["hash"] ?? genesis, hash: "")
        entry.hash = entry.computedHash
        try db.execute(
            sql: """
                INSERT INTO record_of_sharing (\(Disclosure.columns.joined(separator: ", ")))
                VALUES (\(Disclosure.columns.map { _ in "?" }.joined(separator: ", ")))
                """,
            arguments: [
                entry.seq, entry.at, entry.sender, entry.recipient, entry.purpose, entry.lawfulBasis,
                entry.dataCategories, entry.messageID, entry.enquiryID, entry.subjectRef, entry.previousHash,
                entry.hash,
            ])
    }

    public struct Verification: Sendable, Equatable {
        public var entries: Int
        /// The first entry that does not verify, and why; nil when the whole chain holds.
        public var firstBad: (seq: Int64, problem: String)?

        public static func == (a: Verification, b: Verification) -> Bool {
            a.entries == b.entries && a.firstBad?.seq == b.firstBad?.seq && a.firstBad?.problem == b.firstBad?.problem
        }
    }

    /// Walks the whole chain from the first entry.
    public static func verify(_ store: CoordinatorStore) throws -> Verification {
        try store.read { db in
            var previous = genesis
            var expectedSeq: Int64 = 1
            var count = 0
            let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM record_of_sharing ORDER BY seq")
            while let row = try cursor.next() {
                let entry = Disclosure(row: row)
                count += 1
                if entry.seq != expectedSeq {
                    return Verification(
                        entries: count, firstBad: (entry.seq, "expected entry \(expectedSeq) here: an entry is missing")
                    )
                }
                if entry.previousHash != previous {
                    return Verification(
                        entries: count,
                        firstBad: (entry.seq, "its previous-hash does not match the entry before it"))
                }
                if entry.computedHash != entry.hash {
                    return Verification(
                        entries: count, firstBad: (entry.seq, "its contents do not match its hash (edited)"))
                }
                previous = entry.hash
                expectedSeq += 1
            }
            return Verification(entries: count, firstBad: nil)
        }
    }

    /// Entries whose time is within `[from, to)`, oldest first.
    public static func entries(_ store: CoordinatorStore, from: Date?, to: Date?) throws -> [Disclosure] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM record_of_sharing ORDER BY seq").map(Disclosure.init(row:))
                .filter { entry in
                    guard let at = Instant.parse(entry.at) else { return true }
                    return (from.map { at >= $0 } ?? true) && (to.map { at < $0 } ?? true)
                }
        }
    }

    /// CSV (RFC 4180) for the information governance lead.
    public static func csv(_ entries: [Disclosure]) -> String {
        let header = [
            "seq", "time", "from", "to", "purpose", "lawful_basis", "data_categories", "message_id", "enquiry_id",
            "subject_ref", "hash",
        ]
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([header] + entries.map(\.csvFields)).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
