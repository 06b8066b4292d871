import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// Corrections, erasures and restrictions reaching every recipient (UK GDPR Art. 19): the record of sharing
/// says who received a person's data; each gets a sealed `mash.correction/1`, and the correction stays open,
/// chased every `chaseCorrectionsEvery`, until each has confirmed it with a `mash.correction-receipt/1`.
extension Coordinator {
    /// Telling recipients of a correction is the controller's legal obligation (Art. 19).
    static let correctionBasis = LawfulBasis(article6: .legalObligation)

    /// What one correction is, before it is sent.
    struct CorrectionRequest {
        var id: String
        var action: CorrectionAction
        var requestedBy: String
        var reason: String
        var references: [String]
        var person: Person?
        var corrected: Person?
        var note: String?
        /// Only the disclosures of this case (an enquiry's id); nil: every disclosure about the person.
        var caseID: String?
    }

    /// Rectify, erase or mark an opinion incorrect, as an operator asked.
    func record(_ correction: SubjectCorrection, _ message: InboundMessage, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let now = now()
        let request = correction.request
        try refuseIfExpired(request.expiresAt, now: now, "the correction request", "nothing was sent")
        let messages = try openCorrection(
            CorrectionRequest(
                id: message.messageID, action: correction.action, requestedBy: request.requestedBy,
                reason: request.reason, references: request.references, person: correction.person,
                corrected: correction.corrected, note: correction.note, caseID: correction.enquiryID), db, now: now)
        let erased =
            correction.action == .erase
            ? try eraseOwnCopies(of: request.references, caseID: correction.enquiryID, db, now: now) : 0
        try recordAction(
            .subjectCorrection, message, by: request.requestedBy,
            summary: "\(correction.action.rawValue) one person (\(request.references.count) references), "
                + "\(messages.count) recipient\(messages.count == 1 ? "" : "s") told"
                + (erased > 0 ? ", \(erased) closed record\(erased == 1 ? "" : "s") erased at the hub" : "")
                + ": \(request.reason)", db, now: now)
        return messages
    }

    /// The hub's own copy of each closed enquiry, concluded missing episode and answered contact about the
    /// person, erased as a purge would: its key shredded, its rows deleted, a ledger entry each. What is still
    /// open (an enquiry's answers and decision, an episode's interview, a contact's outcome are still to come)
    /// is kept and goes at the end of its retention period. Returns how many went.
    func eraseOwnCopies(of references: [String], caseID: String?, _ db: any SQLDatabase, now: Date) throws -> Int {
        let closed = [EnquiryStatus.decided, .withdrawn, .refused].map(\.rawValue)
        let erased =
            try erase(
                .enquiries, "SELECT id, subjects, subject_ref AS ref FROM enquiry WHERE status IN (?, ?, ?)",
                StatementArguments(closed), about: references, caseID: caseID, db, now: now)
            + erase(
                .missingEpisodes,
                "SELECT id, subjects, coalesce(child_ref, '') AS ref FROM missing_episode WHERE state = ?",
                [MissingEpisode.State.concluded.rawValue], about: references, caseID: caseID, db, now: now)
            + erase(
                .contacts, "SELECT id, subjects, subject_ref AS ref FROM contact WHERE state = ?",
                [ContactState.told.rawValue], about: references, caseID: caseID, db, now: now)
        if erased > 0 { logger.notice("the hub's own copy erased", metadata: ["records": "\(erased)"]) }
        return erased
    }

    /// Erases the rows `sql` selects (`id`, `subjects`, `ref`: the ledger's subject reference) that are about
    /// one of `references` (and are `caseID`, when given) as `kind`'s purge would.
    private func erase(
        _ kind: RetentionSchedule.Kind, _ sql: String, _ arguments: StatementArguments, about references: [String],
        caseID: String?, _ db: any SQLDatabase, now: Date
    ) throws -> Int {
        let wanted = Set(references)
        let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).filter { row in
            !wanted.isDisjoint(with: (row["subjects"] as String).split(separator: ",").map(String.init))
                && (caseID.map { $0 == row["id"] } ?? true)
        }
        guard !rows.isEmpty, let table = kind.coordinatorTables(from: .closure).first else { return 0 }
        try Purge.erase(rows.map { $0["id"] }, of: table, in: db, keys: contentKeys)
        for row in rows {
            try RecordOfSharing.recordErasure(
                db, at: now, sender: settings.identity, recordID: row["id"], subjectRef: row["ref"])
        }
        return rows.count
    }

    /// Opens a correction and sends its copies, in the caller's transaction: one per recipient and queue the
    /// record of sharing lists for the person (each a ledger entry). With no recipient it is closed at once.
    func openCorrection(_ request: CorrectionRequest, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage] {
        let respondBy = Self.oneMonth(after: now)
        let copies = try recipients(of: request.references, caseID: request.caseID, db)
        try db.execute(
            sql: """
                INSERT INTO correction (id, action, requested_by, reason, subjects, opened_at, respond_by, closed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                request.id, request.action.rawValue, request.requestedBy, request.reason,
                request.references.sorted().joined(separator: ","), now.timeIntervalSince1970,
                respondBy.timeIntervalSince1970, copies.isEmpty ? now.timeIntervalSince1970 : nil,
            ])
        var messages: [OutboxMessage] = []
        for copy in copies {
            let document = Correction(
                correctionID: request.id, copyID: UUID().uuidString.lowercased(), action: request.action,
                reason: request.reason, requestedAt: now, respondBy: respondBy, person: request.person,
                corrected: request.corrected, note: request.note, cases: copy.cases, messages: copy.messages)
            try db.execute(
                sql: """
                    INSERT INTO correction_copy (id, correction_id, party, exchange, routing_key, document, sent_at,
                        next_chase_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    document.copyID, request.id, copy.destination.party, copy.destination.exchange,
                    copy.destination.routingKey,
                    Data(
                        try sealForStore(
                            document.json, table: "correction_copy", id: document.copyID,
                            scope: "correction:" + request.id)),
                    now.timeIntervalSince1970,
                    now.addingTimeInterval(settings.routing.chaseCorrectionsEvery).timeIntervalSince1970,
                ])
            messages.append(try send(document, copy.destination, references: request.references, db, now: now))
        }
        metrics.increment("mash_corrections_total", [("action", request.action.rawValue)])
        logger.notice(
            "correction opened",
            metadata: [
                "correction": "\(request.id)", "action": "\(request.action.rawValue)",
                "recipients": "\(copies.count)",
            ])
        return messages
    }

    /// Seals one copy to its party and records it on the ledger.
    private func send(
        _ document: Correction, _ destination: Destination, references: [String], _ db: any SQLDatabase, now: Date
    ) throws -> OutboxMessage {
        let sharing = Sharing(
            purpose: "correction: \(document.action.describing) told to a recipient of the data (UK GDPR Art. 19)",
            basis: Self.correctionBasis,
            categories: document.person == nil && document.corrected == nil ? [] : [.personal],
            caseID: document.correctionID, subjectRef: references.sorted().first ?? "",
            subjects: references.sorted().joined(separator: ","))
        return try disclose(
            document.json, .correction, to: destination.party, exchange: destination.exchange,
            routingKey: destination.routingKey,
            headers: ["x-mash-correction": document.correctionID, "x-mash-copy": document.copyID], sharing, db,
            now: now,
            toFormerRecipient: true)
    }

    /// A recipient's receipt: its copy is confirmed, and the correction closed once every copy is.
    func record(_ receipt: CorrectionReceipt, from sender: String, messageID: String, _ db: any SQLDatabase) throws {
        guard
            let copy = try Row.fetchOne(
                db,
                sql: """
                    SELECT c.party, c.confirmed_at, r.action, r.subjects FROM correction_copy c
                    JOIN correction r ON r.id = c.correction_id WHERE c.id = ? AND c.correction_id = ?
                    """, arguments: [receipt.copyID, receipt.correctionID])
        else {
            throw Refusal(
                reason: "unknownCorrection",
                detail: "no copy \(receipt.copyID) of correction \(receipt.correctionID) was sent")
        }
        guard copy["party"] == sender else {
            throw Refusal(
                reason: "senderNotAllowed",
                detail: "copy \(receipt.copyID) went to \(copy["party"] as String), not \(sender)")
        }
        guard (copy["confirmed_at"] as Double?) == nil else {
            logger.info(
                "correction receipt already recorded; ignored",
                metadata: ["correction": "\(receipt.correctionID)", "party": "\(sender)"])
            return
        }
        let now = now()
        try db.execute(
            sql: "UPDATE correction_copy SET confirmed_at = ?, result = ?, copies = ? WHERE id = ?",
            arguments: [now.timeIntervalSince1970, receipt.result.rawValue, receipt.copies, receipt.copyID])
        try RecordOfSharing.recordCorrectionReceipt(
            receipt, from: sender, to: settings.identity, action: copy["action"], messageID: messageID, db, now: now)
        let waiting =
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM correction_copy WHERE correction_id = ? AND confirmed_at IS NULL",
                arguments: [receipt.correctionID]) ?? 0
        logger.notice(
            "correction confirmed",
            metadata: [
                "correction": "\(receipt.correctionID)", "party": "\(sender)", "result": "\(receipt.result.rawValue)",
                "copies": "\(receipt.copies)", "waiting": "\(waiting)",
            ])
        if waiting == 0 {
            try db.execute(
                sql: "UPDATE correction SET closed_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, receipt.correctionID])
            logger.notice(
                "correction complete: every recipient confirmed", metadata: ["correction": "\(receipt.correctionID)"])
        }
    }

    /// Sends again every copy not confirmed within `chaseCorrectionsEvery` of its last sending (a new message,
    /// the same copy id), each a ledger entry. Returns what it sent.
    func chaseCorrections() async throws -> [OutboxMessage] {
        let now = now()
        let query = """
            SELECT c.id, c.correction_id, c.party, c.exchange, c.routing_key, c.document, c.chases, r.subjects
            FROM correction_copy c JOIN correction r ON r.id = c.correction_id
            WHERE c.confirmed_at IS NULL AND c.next_chase_at <= ? ORDER BY c.next_chase_at LIMIT 100
            """
        let anyDue = try await store.sql.read { db in
            try Row.fetchOne(db, sql: query, arguments: [now.timeIntervalSince1970]) != nil
        }
        guard anyDue else { return [] }
        return try await outbox.write(now: self.now) { [self] db in
            var messages: [OutboxMessage] = []
            for row in try Row.fetchAll(db, sql: query, arguments: [now.timeIntervalSince1970]) {
                let copyID: String = row["id"]
                let correctionID: String = row["correction_id"]
                let document = try Correction(
                    json: try openFromStore(
                        Array(row["document"] as Data), table: "correction_copy", id: copyID,
                        scope: "correction:" + correctionID),
                    source: "store correction copy \(copyID)")
                let chases: Int = row["chases"]
                try db.execute(
                    sql: "UPDATE correction_copy SET chases = ?, next_chase_at = ? WHERE id = ?",
                    arguments: [
                        chases + 1,
                        now.addingTimeInterval(settings.routing.chaseCorrectionsEvery).timeIntervalSince1970, copyID,
                    ])
                let references = (row["subjects"] as String).split(separator: ",").map(String.init)
                let message = try send(
                    document,
                    Destination(party: row["party"], exchange: row["exchange"], routingKey: row["routing_key"]),
                    references: references, db, now: now)
                try outbox.enqueue(db, [message], now: now)
                messages.append(message)
                metrics.increment("mash_correction_chases_total")
                logger.warning(
                    "correction not confirmed; sent again",
                    metadata: [
                        "correction": "\(correctionID)", "party": "\(row["party"] as String)", "chase": "\(chases + 1)",
                    ])
            }
            return messages
        }
    }

    // MARK: recipients

    struct Destination: Hashable {
        var party: String
        var exchange: String
        var routingKey: String
    }

    /// One recipient's share of a correction: the disclosures it received about the person.
    struct RecipientCopy {
        var destination: Destination
        var cases: [String] = []
        var messages: [String] = []
    }

    /// Everyone the hub disclosed the person's data to, by queue, from the record of sharing: each disclosure
    /// whose subjects include one of `references` (corrections themselves and purges aside).
    func recipients(of references: [String], caseID: String?, _ db: any SQLDatabase) throws -> [RecipientCopy] {
        guard !references.isEmpty else { return [] }
        let wanted = Set(references)
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT recipient, message_id, enquiry_id, subjects FROM record_of_sharing
                WHERE sender = ? AND recipient != 'retention' AND enquiry_id NOT IN (SELECT id FROM correction)
                    AND (\(references.map { _ in db.engine.contains("subjects", "?") }.joined(separator: " OR ")))
                ORDER BY seq
                """, arguments: StatementArguments([settings.identity] + references))
        var copies: [Destination: RecipientCopy] = [:]
        var order: [Destination] = []
        for row in rows {
            let subjects = (row["subjects"] as String).split(separator: ",").map(String.init)
            let entryCase: String = row["enquiry_id"]
            guard !wanted.isDisjoint(with: subjects), caseID.map({ $0 == entryCase }) ?? true else { continue }
            let destination = try self.destination(of: row["recipient"], forCase: entryCase, db)
            if copies[destination] == nil {
                copies[destination] = RecipientCopy(destination: destination)
                order.append(destination)
            }
            if !copies[destination]!.cases.contains(entryCase) { copies[destination]!.cases.append(entryCase) }
            copies[destination]!.messages.append(row["message_id"])
        }
        return order.map { copies[$0]! }
    }

    /// The queue a party received a case's data on: an agency's research queue for an enquiry, the desk's
    /// queue for the police and school flows, the referrer's notices queue otherwise.
    func destination(of party: String, forCase caseID: String, _ db: any SQLDatabase) throws -> Destination {
        func to(_ exchange: String, _ routingKey: String) -> Destination {
            Destination(party: party, exchange: exchange, routingKey: routingKey)
        }
        if party == settings.decisionMaker { return to(HubQueues.decisionsExchange, party) }
        if party == settings.practiceManager { return to(HubQueues.alertsExchange, party) }
        let isAgency = settings.routing.agencies[party] != nil
        let enquiryCase =
            try Bool.fetchOne(db, sql: "SELECT 1 FROM enquiry WHERE id = ?", arguments: [caseID]) ?? false
        if isAgency, enquiryCase { return to(HubQueues.enquiriesExchange, party) }
        let flows = settings.routing.notifications
        if party == flows.probation { return to(HubQueues.noticesExchange, HubQueues.probationSafeguarding) }
        if party == flows.socialCare { return to(HubQueues.noticesExchange, HubQueues.socialCareContacts) }
        if party == flows.laOfficer { return to(HubQueues.noticesExchange, HubQueues.laOfficerNotices) }
        if party == flows.education { return to(HubQueues.noticesExchange, HubQueues.educationRolls) }
        let missing = settings.routing.missing
        if party == missing.coordinator { return to(HubQueues.noticesExchange, HubQueues.missingEpisodes) }
        if missing.authorities.contains(party) { return to(HubQueues.authoritiesExchange, party) }
        if settings.routing.frontDoor.portals.contains(party) {
            return to(HubQueues.noticesExchange, HubQueues.portalNotices(of: party))
        }
        if let school = settings.schools.values.first(where: { $0.recipient == party }) {
            return to(HubQueues.noticesExchange, school.noticeQueue)
        }
        if isAgency { return to(HubQueues.enquiriesExchange, party) }
        return to(HubQueues.noticesExchange, party)
    }

    /// One calendar month on, in UK time (UK GDPR Art. 12(3)).
    static func oneMonth(after date: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        return calendar.date(byAdding: .month, value: 1, to: date) ?? date.addingTimeInterval(31 * 86400)
    }
}
