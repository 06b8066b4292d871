import AMQP
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHRuntime
import Sealing

extension Coordinator {
    /// An enquiry or a consent withdrawal from the SPA.
    @Sendable func handleIntake(_ message: InboundMessage, _ db: Database) throws -> [OutboxMessage] {
        guard settings.routing.intakeSenders.contains(message.sender) else {
            throw Refusal(reason: "senderNotAllowed", detail: "'\(message.sender)' may not send enquiries")
        }
        let source = "message \(message.messageID)"
        switch DocumentType(rawValue: message.type) {
        case .enquiry:
            let enquiry = try readDocument { try Enquiry(json: message.payload, source: source) }
            return try open(enquiry, from: message.sender, db)
        case .consentWithdrawal:
            let withdrawal = try readDocument { try ConsentWithdrawal(json: message.payload, source: source) }
            return try withdraw(withdrawal, db)
        default:
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not taken on \(message.queue)")
        }
    }

    /// Document errors name the field but not its value: the value may be personal data, and the reason goes
    /// into AMQP headers and logs.
    func readDocument<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DocumentError {
            throw Refusal(invalid: error)
        }
    }

    /// Opens an enquiry: refuses it (to the sender, with the reason) without consent or a valid override;
    /// otherwise stores it with its deadlines, seals one minimised request per agency, and starts the clocks.
    func open(_ enquiry: Enquiry, from sender: String, _ db: Database) throws -> [OutboxMessage] {
        let now = now()
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM enquiry WHERE id = ?", arguments: [enquiry.id]) == true {
            logger.notice("enquiry already open; ignored", metadata: ["enquiry": "\(enquiry.id)"])
            return []
        }
        let received = min(enquiry.receivedAt, now)
        let deadlines = settings.routing.policy.deadlines(
            for: enquiry.rag, openedAt: received, calendar: settings.calendar)
        let subjectRef = keyring.pseudonym(of: enquiry.subject.identityKey)

        let agencies: [RoutingConfiguration.Agency]
        do {
            agencies = try settings.routing.agencies(for: enquiry)
            try ConsentGate.check(enquiry.consent, agencies: agencies.map(\.id))
        } catch {
            let reason =
                (error as? ConsentGate.Refusal)?.reason ?? "\((error as? DocumentError)?.problem ?? "\(error)")"
            logger.warning("enquiry refused", metadata: ["enquiry": "\(enquiry.id)", "reason": "\(reason)"])
            try insertEnquiry(
                db, enquiry, status: "refused", sender: sender, subjectRef: subjectRef, deadlines: deadlines,
                document: nil, refusal: reason, at: now)
            return [
                try notice(
                    Notice(type: .enquiryRefusal, enquiryID: enquiry.id, reason: reason, at: now), to: sender,
                    exchange: HubQueues.noticesExchange)
            ]
        }

        try insertEnquiry(
            db, enquiry, status: "awaiting", sender: sender, subjectRef: subjectRef, deadlines: deadlines,
            document: try sealForStore(enquiry.json, table: "enquiry", id: enquiry.id), refusal: nil, at: now)
        var messages: [OutboxMessage] = []
        for agency in agencies {
            let requestID = UUID().uuidString.lowercased()
            let request = ResearchRequest(
                requestID: requestID, enquiryID: enquiry.id, agency: agency.id, rag: enquiry.rag,
                dueBy: deadlines.partnersDue, purpose: settings.routing.purpose, consent: enquiry.consent.status,
                lawfulBasis: enquiry.lawfulBasis, subject: enquiry.subject.keeping(agency.personFields),
                household: agency.receivesHousehold
                    ? enquiry.household.map { $0.keeping(agency.personFields.union([.role])) } : [],
                reason: agency.receivesReason ? enquiry.reason : nil)
            let message = try sealed(
                request.json, type: .researchRequest, to: agency.id, exchange: HubQueues.enquiriesExchange,
                routingKey: agency.id,
                headers: [
                    "x-mash-enquiry": enquiry.id, "x-mash-request": requestID, "x-mash-rag": enquiry.rag.rawValue,
                    "x-mash-due": Instant.format(deadlines.partnersDue),
                ])
            messages.append(message)
            try db.execute(
                sql: """
                    INSERT INTO request (id, enquiry_id, agency, mandatory, status, due, warning)
                    VALUES (?, ?, ?, ?, 'sent', ?, ?)
                    """,
                arguments: [
                    requestID, enquiry.id, agency.id, agency.mandatory, deadlines.partnersDue.timeIntervalSince1970,
                    deadlines.partnersWarning.timeIntervalSince1970,
                ])
            try addTimer(
                db, .warning, clock: "partners", at: deadlines.partnersWarning, enquiry: enquiry.id, request: requestID)
            try addTimer(
                db, .breach, clock: "partners", at: deadlines.partnersDue, enquiry: enquiry.id, request: requestID)
            try RecordOfSharing.append(
                db, at: now, sender: settings.identity, recipient: agency.id, purpose: settings.routing.purpose,
                lawfulBasis: enquiry.lawfulBasis, dataCategories: [.personal], messageID: message.messageID,
                enquiryID: enquiry.id, subjectRef: subjectRef)
        }
        try addTimer(db, .warning, clock: "decision", at: deadlines.decisionWarning, enquiry: enquiry.id, request: nil)
        try addTimer(db, .breach, clock: "decision", at: deadlines.decisionDue, enquiry: enquiry.id, request: nil)
        logger.info(
            "enquiry opened",
            metadata: [
                "enquiry": "\(enquiry.id)", "rag": "\(enquiry.rag.rawValue)", "agencies": "\(agencies.count)",
                "partnersDue": "\(Instant.format(deadlines.partnersDue))",
            ])
        return messages
    }

    private func insertEnquiry(
        _ db: Database, _ enquiry: Enquiry, status: String, sender: String, subjectRef: String, deadlines: Deadlines,
        document: [UInt8]?, refusal: String?, at now: Date
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO enquiry (id, rag, status, sender, subject_ref, opened_at, counted_from, partners_due,
                    partners_warning, decision_due, decision_warning, document, refusal)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                enquiry.id, enquiry.rag.rawValue, status, sender, subjectRef, now.timeIntervalSince1970,
                deadlines.countedFrom.timeIntervalSince1970, deadlines.partnersDue.timeIntervalSince1970,
                deadlines.partnersWarning.timeIntervalSince1970, deadlines.decisionDue.timeIntervalSince1970,
                deadlines.decisionWarning.timeIntervalSince1970, document.map { Data($0) }, refusal,
            ])
    }

    func addTimer(_ db: Database, _ event: Notice.Event, clock: String, at due: Date, enquiry: String, request: String?)
        throws
    {
        try db.execute(
            sql: "INSERT INTO timer (due, event, clock, enquiry_id, request_id) VALUES (?, ?, ?, ?, ?)",
            arguments: [due.timeIntervalSince1970, event.rawValue, clock, enquiry, request])
    }

    /// Consent withdrawn: the enquiry stops, every outstanding request is cancelled and its agency told.
    func withdraw(_ withdrawal: ConsentWithdrawal, _ db: Database) throws -> [OutboxMessage] {
        guard
            let status = try String.fetchOne(
                db, sql: "SELECT status FROM enquiry WHERE id = ?", arguments: [withdrawal.enquiryID])
        else {
            throw Refusal(
                reason: "unknownEnquiry", detail: "no enquiry \(withdrawal.enquiryID) to withdraw consent from")
        }
        guard status == "awaiting" else {
            logger.notice(
                "consent withdrawn after the enquiry closed",
                metadata: ["enquiry": "\(withdrawal.enquiryID)", "status": "\(status)"])
            return []
        }
        try db.execute(
            sql: "UPDATE enquiry SET status = 'withdrawn', completed_at = ? WHERE id = ?",
            arguments: [now().timeIntervalSince1970, withdrawal.enquiryID])
        let messages = try cancelOutstanding(
            db, enquiry: withdrawal.enquiryID, reason: "consent withdrawn", onlyOptional: false)
        try db.execute(
            sql: "UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND fired_at IS NULL",
            arguments: [now().timeIntervalSince1970, withdrawal.enquiryID])
        logger.info(
            "consent withdrawn; requests cancelled",
            metadata: ["enquiry": "\(withdrawal.enquiryID)", "cancelled": "\(messages.count)"])
        return messages
    }

    /// Cancels the requests of `enquiry` still waiting for an answer and tells each agency.
    func cancelOutstanding(_ db: Database, enquiry: String, reason: String, onlyOptional: Bool) throws
        -> [OutboxMessage]
    {
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, agency FROM request WHERE enquiry_id = ? AND status = 'sent'"
                + (onlyOptional ? " AND mandatory = 0" : ""),
            arguments: [enquiry])
        var messages: [OutboxMessage] = []
        for row in rows {
            let requestID: String = row["id"]
            let agency: String = row["agency"]
            try db.execute(sql: "UPDATE request SET status = 'cancelled' WHERE id = ?", arguments: [requestID])
            try db.execute(
                sql: "UPDATE timer SET fired_at = ? WHERE request_id = ? AND fired_at IS NULL",
                arguments: [now().timeIntervalSince1970, requestID])
            let message = try notice(
                Notice(
                    type: .requestCancellation, enquiryID: enquiry, requestID: requestID, agency: agency,
                    reason: reason, at: now()),
                to: agency, exchange: HubQueues.enquiriesExchange)
            messages.append(message)
        }
        return messages
    }
}
