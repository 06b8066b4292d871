import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHRuntime
import MASHService

/// Orchestra school roll feeds (DESIGN.md flow 5): each file is diffed against the school's roll in force;
/// the returns go to Education, child-missing-education alerts to the MASH front door (the SPA), and a
/// malformed file goes back to its sender whole, with the roll in force unchanged.
extension Coordinator {
    static let rollBasis = LawfulBasis(article6: .publicTask)
    static let rollPurpose =
        "School roll returns: children missing education and pupil registration (Education Act 1996 s436A)"

    /// Ingests a feed of roll files as if they had arrived from `sender` in one batch (the bench, and imports by
    /// hand): one transaction, so one fsync for the feed, as the pump commits a batch of roll messages; the
    /// returns are left in the outbox for the relay. `next` gives the files one at a time (nil: the end), so a
    /// feed is never held whole. Returns the number of messages the feed caused.
    @discardableResult
    public func ingestRolls(
        from sender: String, _ next: @escaping @Sendable () throws -> (file: SchoolRollFile, rollID: String)?
    ) async throws -> Int {
        try await outbox.write(now: now) { [self] db in
            var count = 0
            while let (file, rollID) = try next() {
                let messages = try ingest(file, rollID: rollID, from: sender, db)
                try outbox.enqueue(db, messages, now: now())
                count += messages.count
            }
            return count
        }
    }

    func ingest(_ file: SchoolRollFile, rollID: String, from sender: String, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let now = now()
        let flows = settings.routing.notifications
        guard let school = settings.schools[file.urn] else {
            return try rejectRoll(
                file, rollID: rollID, to: sender, field: "urn",
                problem: "school \(file.urn) is not configured (Config/schools/\(file.urn).yaml)", db, now: now)
        }
        let roll: SchoolRoll
        do {
            roll = try file.roll(source: "roll \(rollID)")
        } catch let error as DocumentError {
            return try rejectRoll(
                file, rollID: rollID, to: sender, field: error.field, problem: error.problem, db, now: now)
        }

        let previous = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT pupils FROM roll WHERE urn = ?"), arguments: [file.urn]
        ).map {
            RollPupil.decode(try openFromStore(Array($0), table: "roll", id: file.urn, scope: "roll:" + file.urn))
        }
        let diff = RollDiff.compare(
            previous: previous, with: roll, calendar: school.calendar, policy: school.rollPolicy)

        try db.executeCached(
            sql: """
                INSERT INTO roll (urn, pupils, roll_id, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (urn) DO UPDATE SET pupils = excluded.pupils, roll_id = excluded.roll_id,
                    updated_at = excluded.updated_at
                """,
            arguments: [
                file.urn,
                Data(
                    try sealForStore(
                        RollPupil.encode(diff.roll), table: "roll", id: file.urn, scope: "roll:" + file.urn)), rollID,
                now.timeIntervalSince1970,
            ])
        try updateIndex(urn: file.urn, from: previous ?? [], to: diff.roll, db)

        var messages: [OutboxMessage] = []
        let sharing = Sharing(
            purpose: Self.rollPurpose, basis: Self.rollBasis, categories: [.personal], caseID: rollID,
            subjectRef: keyring.pseudonym(of: "roll:" + file.urn))
        func send(_ object: [String: Any], _ type: DocumentType, to party: String, routingKey: String) throws {
            let message = try disclose(
                DocumentWriter.encode(object), type, to: party, exchange: HubQueues.noticesExchange,
                routingKey: routingKey, headers: ["x-mash-roll": rollID, "x-mash-urn": file.urn], sharing, db, now: now)
            messages.append(message)
        }
        let report: [String: Any] = [
            "schema": DocumentType.rollReport.rawValue, "rollID": rollID, "urn": file.urn, "school": school.name,
            "documentQualifier": roll.qualifier.rawValue, "pupils": roll.pupils.count, "baseline": diff.baseline,
            "leavers": diff.leavers.map {
                ["pupil": $0.pupil.jsonObject, "ground": $0.ground, "missingEducation": $0.missingEducation]
                    as [String: Any]
            },
            "joiners": diff.joiners.map { joiner -> [String: Any] in
                var object: [String: Any] = ["pupil": joiner.pupil.jsonObject]
                object["newPupilReturnDue"] = joiner.returnDue?.description
                return object
            },
            "flags": diff.flags.map {
                ["kind": $0.kind.rawValue, "pupil": $0.pupil.jsonObject, "detail": $0.detail] as [String: Any]
            },
        ]
        try send(report, .rollReport, to: flows.education, routingKey: HubQueues.educationRolls)
        for leaver in diff.leavers where leaver.missingEducation {
            let alert: [String: Any] = [
                "schema": DocumentType.missingEducationAlert.rawValue, "rollID": rollID, "urn": file.urn,
                "school": school.name, "pupil": leaver.pupil.jsonObject, "ground": leaver.ground,
            ]
            try send(alert, .missingEducationAlert, to: "spa", routingKey: "spa")
        }
        let missing = diff.leavers.filter(\.missingEducation).count
        try db.executeCached(
            sql: """
                INSERT INTO roll_import (id, urn, received_at, format, qualifier, status, pupils, joiners, leavers,
                    missing_education, flags)
                VALUES (?, ?, ?, ?, ?, 'accepted', ?, ?, ?, ?, ?)
                """,
            arguments: [
                rollID, file.urn, now.timeIntervalSince1970, file.format.rawValue, roll.qualifier.rawValue,
                roll.pupils.count, diff.joiners.count, diff.leavers.count, missing, diff.flags.count,
            ])
        metrics.increment("mash_roll_feeds_total", [("urn", file.urn), ("status", "accepted")])
        logger.info(
            "roll accepted",
            metadata: [
                "roll": "\(rollID)", "urn": "\(file.urn)", "pupils": "\(roll.pupils.count)",
                "joiners": "\(diff.joiners.count)", "leavers": "\(diff.leavers.count)", "cme": "\(missing)",
                "flags": "\(diff.flags.count)",
            ])
        return messages
    }

    /// The roll index (how a DAN finds a child's school) changes only where the roll did: most pupils are on
    /// last week's roll too, and each row costs two keyed pseudonyms. Pupils are counted by their fields as
    /// given; one whose name changed only in case or spacing is taken out and put back under the same refs.
    private func updateIndex(urn: String, from old: [RollPupil], to new: [RollPupil], _ db: any SQLDatabase) throws {
        struct Entry: Hashable {
            var forename: String
            var surname: String
            var born: LocalDate
            var upn: String
        }
        func entry(_ pupil: RollPupil) -> Entry {
            Entry(
                forename: pupil.forename, surname: pupil.surname, born: pupil.dateOfBirth,
                upn: pupil.hasCheckedUPN ? pupil.upn : "")
        }
        var counts: [Entry: Int] = [:]
        counts.reserveCapacity(new.count)
        for pupil in old where !pupil.hasLeft { counts[entry(pupil), default: 0] -= 1 }
        for pupil in new where !pupil.hasLeft { counts[entry(pupil), default: 0] += 1 }
        let insert = try db.cachedStatement(sql: "INSERT INTO roll_index (urn, child_ref, upn_ref) VALUES (?, ?, ?)")
        let delete = try db.cachedStatement(
            sql: """
                DELETE FROM roll_index WHERE \(db.engine.rowIdentity) IN
                    (SELECT \(db.engine.rowIdentity) FROM roll_index
                     WHERE urn = ? AND child_ref = ? AND upn_ref IS NOT DISTINCT FROM ? LIMIT 1)
                """)
        for (key, change) in counts where change != 0 {
            let childRef = childRef(forename: key.forename, surname: key.surname, born: key.born)
            let upnRef = key.upn.isEmpty ? nil : upnRef(key.upn)
            for _ in 0..<abs(change) {
                try (change > 0 ? insert : delete).execute(arguments: [urn, childRef, upnRef])
            }
        }
    }

    /// A malformed file changes nothing: the sender hears why (the line or element at fault), the roll in force
    /// stays. The store and the log keep only where the fault is, since the problem may quote a value.
    private func rejectRoll(
        _ file: SchoolRollFile, rollID: String, to sender: String, field: String, problem: String,
        _ db: any SQLDatabase,
        now: Date
    ) throws -> [OutboxMessage] {
        try db.executeCached(
            sql: """
                INSERT INTO roll_import (id, urn, received_at, format, qualifier, status, problem)
                VALUES (?, ?, ?, ?, ?, 'rejected', ?)
                """,
            arguments: [
                rollID, file.urn, now.timeIntervalSince1970, file.format.rawValue, file.qualifier?.rawValue, field,
            ])
        logger.warning("roll rejected", metadata: ["roll": "\(rollID)", "urn": "\(file.urn)", "at": "\(field)"])
        // A label only for a configured school: the URN of a refused file is the sender's text.
        metrics.increment(
            "mash_roll_feeds_total",
            [("urn", settings.schools[file.urn] == nil ? "unknown" : file.urn), ("status", "rejected")])
        let rejection: [String: Any] = [
            "schema": DocumentType.rollRejection.rawValue, "rollID": rollID, "urn": file.urn, "at": field,
            "problem": problem,
        ]
        let message = try sealed(
            DocumentWriter.encode(rejection), type: .rollRejection, to: sender, exchange: HubQueues.noticesExchange,
            routingKey: HubQueues.orchestraNotices, headers: ["x-mash-roll": rollID, "x-mash-urn": file.urn])
        return [message]
    }
}
