import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHReadModel
import MASHService

/// The coordinator is the record of sharing's one writer: entries are appended inside the transaction that
/// causes the disclosure.
extension RecordOfSharing {
    /// Appends a disclosure inside the caller's transaction (the one that causes the disclosure).
    static func append(
        _ db: any SQLDatabase, at: Date, sender: String, recipient: String, purpose: String, lawfulBasis: LawfulBasis,
        dataCategories: Set<DataCategory>, messageID: String, enquiryID: String, subjectRef: String,
        subjects: String = "", grounds: String = ""
    ) throws {
        try append(
            db, at: at, sender: sender, recipient: recipient, purpose: purpose, lawfulBasis: lawfulBasis.description,
            dataCategories: dataCategories.sorted().map(\.rawValue).joined(separator: ","), messageID: messageID,
            enquiryID: enquiryID, subjectRef: subjectRef, subjects: subjects, grounds: grounds)
    }

    /// Records that an operator re-sent dead-lettered messages, unchanged, to the queue they died in: one entry
    /// per message, committed before any is sent. The content is sealed and unread, so the entry names the
    /// original message and the operator's reason; the original disclosure's own basis still applies.
    static func recordReplay(_ replay: DeadLetterReplay, _ db: any SQLDatabase) throws {
        for message in replay.messages {
            try append(
                db, at: replay.at, sender: "operator:\(replay.replayedBy)", recipient: replay.queue,
                purpose: "dead-letter replay: \(replay.reason)",
                lawfulBasis: "unchanged re-send of a dead-lettered message; the original message's basis applies",
                dataCategories: "", messageID: message.messageID, enquiryID: message.enquiryID ?? "", subjectRef: "")
        }
    }

    /// Records a purge under the retention schedule: the record's id and pseudonym (or, for records without
    /// content, how many went), so the ledger says what went when while it keeps no content.
    static func recordPurge(
        _ db: any SQLDatabase, at: Date, sender: String, rule: RetentionSchedule.Rule, recordID: String,
        subjectRef: String,
        count: Int = 1
    ) throws {
        let what = count == 1 ? rule.kind.rawValue : "\(count) \(rule.kind.rawValue)"
        try append(
            db, at: at, sender: sender, recipient: "retention",
            purpose: "purged: \(what), \(rule.period) from \(rule.from.rawValue)",
            lawfulBasis: "UK GDPR Art. 5(1)(e) storage limitation: the retention schedule", dataCategories: "",
            messageID: "purge-" + UUID().uuidString.lowercased(), enquiryID: recordID, subjectRef: subjectRef)
    }

    /// A recipient confirmed a correction: no data goes, so no categories; the entry names the correction.
    static func recordCorrectionReceipt(
        _ receipt: CorrectionReceipt, from party: String, to coordinator: String, action: String, messageID: String,
        _ db: any SQLDatabase, now: Date
    ) throws {
        try append(
            db, at: now, sender: party, recipient: coordinator,
            purpose: "correction receipt: \(action) \(receipt.result.rawValue) (\(receipt.copies) copies)",
            lawfulBasis: "UK GDPR Art. 19: a recipient confirms a correction", dataCategories: "",
            messageID: messageID, enquiryID: receipt.correctionID, subjectRef: "")
    }

    /// Records that the hub erased its own copy of a record at a data subject's request (the copies sent are
    /// told separately, each its own entry).
    static func recordErasure(_ db: any SQLDatabase, at: Date, sender: String, recordID: String, subjectRef: String)
        throws
    {
        try append(
            db, at: at, sender: sender, recipient: "erasure",
            purpose: "erased: enquiry, at the data subject's request",
            lawfulBasis: "UK GDPR Art. 17: the right to erasure", dataCategories: "",
            messageID: "erasure-" + UUID().uuidString.lowercased(), enquiryID: recordID, subjectRef: subjectRef)
    }

    /// Purges the entries older than the record of sharing's own period, from the front: a cut records the last
    /// entry that goes and its hash (from which the chain then verifies), the entries up to it are deleted, and
    /// the purge is itself an entry. Returns how many went.
    static func purge(
        _ db: any SQLDatabase, rule: RetentionSchedule.Rule, sender: String, now: Date
    ) throws -> Int {
        let cutoff = rule.period.cutoff(at: now).timeIntervalSince1970
        let cut = try Int64.fetchOne(db, sql: "SELECT coalesce(max(seq), 0) FROM record_of_sharing_cut") ?? 0
        // Only a prefix: the entries before the first one still inside its period.
        guard
            let last = try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, hash FROM record_of_sharing
                    WHERE seq > ? AND seq < coalesce(
                        (SELECT min(seq) FROM record_of_sharing WHERE \(db.engine.epochSeconds(ofText: "at")) >= ?),
                        (SELECT max(seq) + 1 FROM record_of_sharing))
                    ORDER BY seq DESC LIMIT 1
                    """, arguments: [cut, cutoff])
        else { return 0 }
        let seq: Int64 = last["seq"]
        try db.execute(
            sql: "INSERT INTO record_of_sharing_cut (seq, hash, at) VALUES (?, ?, ?)",
            arguments: [seq, last["hash"] as String, now.timeIntervalSince1970])
        try db.execute(sql: "DELETE FROM record_of_sharing WHERE seq <= ?", arguments: [seq])
        let count = db.changesCount
        try recordPurge(db, at: now, sender: sender, rule: rule, recordID: "", subjectRef: "", count: count)
        return count
    }

    private static func append(
        _ db: any SQLDatabase, at: Date, sender: String, recipient: String, purpose: String, lawfulBasis: String,
        dataCategories: String, messageID: String, enquiryID: String, subjectRef: String, subjects: String = "",
        grounds: String = ""
    ) throws {
        // After a cut that took every entry, the chain goes on from the cut.
        let last =
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT seq, hash FROM record_of_sharing ORDER BY seq DESC LIMIT 1"))
            ?? Row.fetchOne(
                db.cachedStatement(sql: "SELECT seq, hash FROM record_of_sharing_cut ORDER BY seq DESC LIMIT 1"))
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        var entry = Disclosure(
            seq: seq, at: Instant.format(at), sender: sender, recipient: recipient, purpose: purpose,
            lawfulBasis: lawfulBasis, dataCategories: dataCategories, messageID: messageID,
            enquiryID: enquiryID, subjectRef: subjectRef, previousHash: last?["hash"] ?? genesis, hash: "")
        entry.subjects = subjects
        entry.grounds = grounds
        entry.hash = entry.computedHash
        try db.executeCached(
            sql: """
                INSERT INTO record_of_sharing (\(Disclosure.columns.joined(separator: ", ")))
                VALUES (\(Disclosure.columns.map { _ in "?" }.joined(separator: ", ")))
                """,
            arguments: [
                entry.seq, entry.at, entry.sender, entry.recipient, entry.purpose, entry.lawfulBasis,
                entry.dataCategories, entry.messageID, entry.enquiryID, entry.subjectRef, entry.previousHash,
                entry.hash, entry.subjects, entry.grounds,
            ])
    }
}
