import Foundation
import GRDB
import MASHCore
import MASHService
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
    /// The keyed references of every person the disclosure is about (`SubjectReference`), comma-separated:
    /// what subject access searches. Empty on entries written before they were kept.
    public var subjects: String = ""
    /// What the disclosure rests on beyond its lawful basis (`Enquiry.grounds`): consent or the override (who
    /// agreed, the rationale and its reference), the justification, any exemption. Empty where none was given.
    public var grounds: String = ""

    public static let columns = [
        "seq", "at", "sender", "recipient", "purpose", "lawful_basis", "data_categories", "message_id", "enquiry_id",
        "subject_ref", "previous_hash", "hash", "subjects", "grounds",
    ]

    public init(
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

    public init(row: Row) {
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
        subjects = row["subjects"] ?? ""
        grounds = row["grounds"] ?? ""
    }

    /// SHA-256 over every field but the hash itself, each length-prefixed so no two rows share an encoding.
    /// `subjects` is covered when it is not empty, and `grounds` (after `subjects`, even an empty one) when it
    /// is not, so entries written before either existed verify as they did and neither can pass for the other.
    public var computedHash: String {
        var fields = [
            String(seq), at, sender, recipient, purpose, lawfulBasis, dataCategories, messageID, enquiryID, subjectRef,
            previousHash,
        ]
        if !subjects.isEmpty || !grounds.isEmpty { fields.append(subjects) }
        if !grounds.isEmpty { fields.append(grounds) }
        let encoded = fields.map { "\($0.utf8.count):\($0)" }.joined(separator: "|")
        return Digest.hex(Digest.sha256(Array(encoded.utf8)))
    }

    var csvFields: [String] {
        [
            String(seq), at, sender, recipient, purpose, lawfulBasis, dataCategories, messageID, enquiryID, subjectRef,
            hash, grounds,
        ]
    }
}

/// The record of sharing (read here; the coordinator, its one writer, appends): an append-only, hash-chained ledger in the coordinator's store. Each entry's hash
/// covers its fields and the previous entry's hash, so changing, removing or reordering any entry breaks
/// every hash after it; triggers also refuse UPDATE and DELETE.
public enum RecordOfSharing {
    public static let genesis = String(repeating: "0", count: 64)

    public struct Verification: Sendable, Equatable {
        public var entries: Int
        /// The first entry that does not verify, and why; nil when the whole chain holds.
        public var firstBad: (seq: Int64, problem: String)?
        /// The last entry purged under the retention schedule (the chain verifies from its hash); 0 if none.
        public var purgedThrough: Int64 = 0

        public static func == (a: Verification, b: Verification) -> Bool {
            a.entries == b.entries && a.firstBad?.seq == b.firstBad?.seq && a.firstBad?.problem == b.firstBad?.problem
                && a.purgedThrough == b.purgedThrough
        }
    }

    /// Walks the whole chain from the first entry, or from the last cut the retention schedule made.
    public static func verify(_ store: HubReadModel) throws -> Verification {
        try store.reader.read { db in
            var previous = genesis
            var expectedSeq: Int64 = 1
            var count = 0
            if try db.tableExists("record_of_sharing_cut"),
                let cut = try Row.fetchOne(
                    db, sql: "SELECT seq, hash FROM record_of_sharing_cut ORDER BY seq DESC LIMIT 1")
            {
                previous = cut["hash"]
                expectedSeq = cut["seq"] + 1
            }
            let purgedThrough = expectedSeq - 1
            func broken(_ seq: Int64, _ problem: String) -> Verification {
                Verification(entries: count, firstBad: (seq, problem), purgedThrough: purgedThrough)
            }
            // In pages by sequence number, so a long ledger is never all in memory at once.
            var page: [Row] = []
            var after = Int64.min
            func nextRow() throws -> Row? {
                if page.isEmpty {
                    page = try Row.fetchAll(
                        db, sql: "SELECT * FROM record_of_sharing WHERE seq > ? ORDER BY seq LIMIT 2000",
                        arguments: [after]
                    ).reversed()
                }
                guard let row = page.popLast() else { return nil }
                after = row["seq"]
                return row
            }
            while let row = try nextRow() {
                let entry = Disclosure(row: row)
                count += 1
                if entry.seq != expectedSeq {
                    return broken(entry.seq, "expected entry \(expectedSeq) here: an entry is missing")
                }
                if entry.previousHash != previous {
                    return broken(entry.seq, "its previous-hash does not match the entry before it")
                }
                if entry.computedHash != entry.hash {
                    return broken(entry.seq, "its contents do not match its hash (edited)")
                }
                previous = entry.hash
                expectedSeq += 1
            }
            return Verification(entries: count, firstBad: nil, purgedThrough: purgedThrough)
        }
    }

    /// Entries whose time is within `[from, to)`, oldest first.
    public static func entries(_ store: HubReadModel, from: Date?, to: Date?) throws -> [Disclosure] {
        try store.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM record_of_sharing ORDER BY seq").map(Disclosure.init(row:))
                .filter { entry in
                    guard let at = Instant.parse(entry.at) else { return true }
                    return (from.map { at >= $0 } ?? true) && (to.map { at < $0 } ?? true)
                }
        }
    }

    /// The disclosures about the person with any of `references` (`SubjectReference`), oldest first: only the
    /// entries that name them among their subjects, so a sibling's own notice is not in a child's list.
    public static func disclosures(
        _ store: HubReadModel, about references: [String], from: Date?, to: Date?
    ) throws -> [Disclosure] {
        guard !references.isEmpty else { return [] }
        let wanted = Set(references)
        return try store.reader.read { db in
            let clauses = references.map { _ in db.engine.contains("subjects", "?") }.joined(separator: " OR ")
            return try Row.fetchAll(
                db, sql: "SELECT * FROM record_of_sharing WHERE \(clauses) ORDER BY seq",
                arguments: StatementArguments(references)
            ).map(Disclosure.init(row:)).filter { entry in
                guard !wanted.isDisjoint(with: entry.subjects.split(separator: ",").map(String.init)) else {
                    return false
                }
                guard let at = Instant.parse(entry.at) else { return true }
                return (from.map { at >= $0 } ?? true) && (to.map { at < $0 } ?? true)
            }
        }
    }

    /// CSV (RFC 4180) for the information governance lead.
    public static func csv(_ entries: [Disclosure]) -> String {
        let header = [
            "seq", "time", "from", "to", "purpose", "lawful_basis", "data_categories", "message_id", "enquiry_id",
            "subject_ref", "hash", "grounds",
        ]
        func field(_ text: String) -> String {
            text.contains(where: { ",\"\n\r".contains($0) })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([header] + entries.map(\.csvFields)).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}

/// The keyed, one-way references by which the record of sharing names the people a disclosure is about, and
/// subject access finds them again: one from the name and date of birth (normalised as the rolls are), one from
/// the NHS number when there is one. Keyed with the hub's data key, so nobody without it can test a name.
public enum SubjectReference {
    public static func references(
        forename: String?, surname: String?, dateOfBirth: LocalDate?, nhsNumber: String?, keyring: DataKeyring
    ) -> [String] {
        Person.referenceKeys(forename: forename, surname: surname, dateOfBirth: dateOfBirth, nhsNumber: nhsNumber)
            .map { keyring.pseudonym(of: $0) }
    }

    /// The references of everyone in `people`, once each, sorted, comma-separated (the ledger's `subjects`).
    public static func list(_ people: [Person], keyring: DataKeyring) -> String {
        Set(
            people.flatMap {
                references(
                    forename: $0.forename, surname: $0.surname, dateOfBirth: $0.dateOfBirth, nhsNumber: $0.nhsNumber,
                    keyring: keyring)
            }
        ).sorted().joined(separator: ",")
    }
}
