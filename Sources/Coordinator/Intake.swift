import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService
import Sealing

extension Coordinator {
    /// An enquiry or a consent withdrawal from the SPA.
    @Sendable func handleIntake(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard settings.routing.intakeSenders.contains(message.sender) else {
            throw Refusal(reason: "senderNotAllowed", detail: "'\(message.sender)' may not send enquiries")
        }
        let source = "message \(message.messageID)"
        switch DocumentType(rawValue: message.type) {
        case .enquiry:
            let enquiry = try readDocument { try Enquiry(json: message.payload, source: source, now: now()) }
            return try open(enquiry, from: message.sender, db)
        case .consentWithdrawal:
            let withdrawal = try readDocument { try ConsentWithdrawal(json: message.payload, source: source) }
            return try withdraw(withdrawal, messageID: message.messageID, db)
        default:
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not taken on \(message.queue)")
        }
    }

    /// Why an enquiry about a person under a restriction (UK GDPR Art. 18) is refused; the SPA sees it.
    static let restrictedRefusal = ConsentGate.Refusal(
        reason: "restricted: processing of this child's data is restricted at the data subject's request; ask the "
            + "data protection officer before sharing")

    /// Document errors name the field but not its value: the value may be personal data, and the reason goes
    /// into AMQP headers and logs.
    func readDocument<T>(_ body: () throws -> T) throws -> T { try Refusal.reading(body) }

    /// Opens an enquiry: refuses it (to the sender, with the reason) without consent or a valid override;
    /// otherwise stores it with its deadlines, seals one minimised request per agency, and starts the clocks.
    func open(_ enquiry: Enquiry, from sender: String, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let now = now()
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM enquiry WHERE id = ?"), arguments: [enquiry.id])
            == true
        {
            logger.notice("enquiry already open; ignored", metadata: ["enquiry": "\(enquiry.id)"])
            return []
        }
        let received = min(enquiry.receivedAt, now)
        let deadlines = settings.routing.policy.deadlines(
            for: enquiry.rag, openedAt: received, calendar: settings.calendar)
        let subjectRef = keyring.pseudonym(of: enquiry.subject.identityKey)

        let agencies: [RoutingConfiguration.Agency]
        let restricted = try isRestricted(enquiry.subject, db)
        switch restricted ? .failure(Self.restrictedRefusal) : settings.routing.admit(enquiry) {
        case .success(let admitted): agencies = admitted
        case .failure(let refusal):
            let reason = refusal.reason
            logger.warning("enquiry refused", metadata: ["enquiry": "\(enquiry.id)", "reason": "\(reason)"])
            try insertEnquiry(
                db, enquiry, status: .refused, sender: sender, subjectRef: subjectRef, deadlines: deadlines,
                document: nil, refusal: reason, at: now)
            return [
                try notice(
                    Notice(type: .enquiryRefusal, enquiryID: enquiry.id, reason: reason, at: now), to: sender,
                    exchange: HubQueues.noticesExchange)
            ]
        }

        try insertEnquiry(
            db, enquiry, status: .awaiting, sender: sender, subjectRef: subjectRef, deadlines: deadlines,
            document: try sealForStore(enquiry.json, table: "enquiry", id: enquiry.id, scope: "enquiry:" + enquiry.id),
            refusal: nil, at: now)
        var messages: [OutboxMessage] = []
        for agency in agencies {
            // Nothing goes to a party that has not signed the agreement or has left it: its request is not sent,
            // and the SPA is told which agency was not asked and why.
            if let refusal = notSignatory(agency.id) {
                logger.warning(
                    "request not sent",
                    metadata: ["enquiry": "\(enquiry.id)", "agency": "\(agency.id)", "reason": "notSignatory"])
                metrics.increment("mash_requests_not_sent_total", [("agency", agency.id), ("reason", "notSignatory")])
                messages.append(
                    try notice(
                        Notice(
                            type: .requestNotSent, enquiryID: enquiry.id, agency: agency.id,
                            reason: "notSignatory: " + refusal, at: now),
                        to: sender, exchange: HubQueues.noticesExchange))
                continue
            }
            let requestID = UUID().uuidString.lowercased()
            let request = ResearchRequest(
                requestID: requestID, enquiryID: enquiry.id, agency: agency.id, rag: enquiry.rag,
                dueBy: deadlines.partnersDue, purpose: settings.routing.purpose, consent: enquiry.consent.status,
                lawfulBasis: enquiry.lawfulBasis, subject: enquiry.subject.keeping(agency.personFields),
                household: agency.receivesHousehold
                    ? enquiry.household.map { $0.keeping(agency.personFields.union([.role])) } : [],
                reason: agency.receivesReason ? enquiry.reason : nil)
            let message = try disclose(
                request.json, .researchRequest, to: agency.id, exchange: HubQueues.enquiriesExchange,
                routingKey: agency.id,
                headers: [
                    "x-mash-enquiry": enquiry.id, "x-mash-request": requestID, "x-mash-rag": enquiry.rag.rawValue,
                    "x-mash-due": Instant.format(deadlines.partnersDue),
                ],
                Sharing(
                    purpose: settings.routing.purpose, basis: enquiry.lawfulBasis, categories: [.personal],
                    caseID: enquiry.id, subjectRef: subjectRef,
                    subjects: try subjects(ofEnquiry: enquiry.id, household: agency.receivesHousehold, db),
                    grounds: enquiry.grounds), db,
                now: now)
            messages.append(message)
            try db.executeCached(
                sql: """
                    INSERT INTO request (id, enquiry_id, agency, mandatory, status, due, warning)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    requestID, enquiry.id, agency.id, agency.mandatory, RequestStatus.sent.rawValue,
                    deadlines.partnersDue.timeIntervalSince1970,
                    deadlines.partnersWarning.timeIntervalSince1970,
                ])
            try addTimer(
                db, .warning, clock: "partners", at: deadlines.partnersWarning, enquiry: enquiry.id, request: requestID)
            try addTimer(
                db, .breach, clock: "partners", at: deadlines.partnersDue, enquiry: enquiry.id, request: requestID)
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
        _ db: any SQLDatabase, _ enquiry: Enquiry, status: EnquiryStatus, sender: String, subjectRef: String,
        deadlines: Deadlines,
        document: [UInt8]?, refusal: String?, at now: Date
    ) throws {
        try db.executeCached(
            sql: """
                INSERT INTO enquiry (id, rag, status, sender, subject_ref, opened_at, counted_from, partners_due,
                    partners_warning, decision_due, decision_warning, document, refusal, subjects, household_subjects,
                    unborn)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                enquiry.id, enquiry.rag.rawValue, status.rawValue, sender, subjectRef, now.timeIntervalSince1970,
                deadlines.countedFrom.timeIntervalSince1970, deadlines.partnersDue.timeIntervalSince1970,
                deadlines.partnersWarning.timeIntervalSince1970, deadlines.decisionDue.timeIntervalSince1970,
                deadlines.decisionWarning.timeIntervalSince1970, document.map { Data($0) }, refusal,
                SubjectReference.list([enquiry.subject], keyring: keyring),
                SubjectReference.list(enquiry.household, keyring: keyring), enquiry.unbornWeeks != nil,
            ])
    }

    /// The people an enquiry's disclosure is about, as the ledger names them: the child, and the household when
    /// the disclosure carries it.
    /// The enquiry as the SPA sent it, opened from the store.
    func storedEnquiry(_ id: String, _ db: any SQLDatabase) throws -> Enquiry {
        guard
            let document = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT document FROM enquiry WHERE id = ?"), arguments: [id])
        else { throw CorruptStore(detail: "no enquiry \(id)") }
        return try Enquiry(
            json: try openFromStore(Array(document), table: "enquiry", id: id, scope: "enquiry:" + id),
            source: "store enquiry \(id)")
    }

    func subjects(ofEnquiry id: String, household: Bool, _ db: any SQLDatabase) throws -> String {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT subjects, household_subjects FROM enquiry WHERE id = ?"), arguments: [id])
        let child: String = row?["subjects"] ?? ""
        let others: String = household ? row?["household_subjects"] ?? "" : ""
        return Set((child + "," + others).split(separator: ",").map(String.init)).sorted().joined(separator: ",")
    }

    func addTimer(
        _ db: any SQLDatabase, _ event: Notice.Event, clock: String, at due: Date, enquiry: String, request: String?
    )
        throws
    {
        try db.executeCached(
            sql: "INSERT INTO timer (due, event, clock, enquiry_id, request_id) VALUES (?, ?, ?, ?, ?)",
            arguments: [due.timeIntervalSince1970, event.rawValue, clock, enquiry, request])
    }

    /// Consent withdrawn: the enquiry stops, every outstanding request is cancelled and its agency told. After
    /// the package went, every recipient of the child's data in this enquiry is told, as a restriction.
    func withdraw(_ withdrawal: ConsentWithdrawal, messageID: String, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard var lifecycle = try lifecycle(of: withdrawal.enquiryID, db) else {
            throw Refusal(
                reason: "unknownEnquiry", detail: "no enquiry \(withdrawal.enquiryID) to withdraw consent from")
        }
        let effects = lifecycle.withdraw()
        guard !effects.isEmpty else {
            logger.notice(
                "consent withdrawn after the package went; recipients told as a restriction",
                metadata: ["enquiry": "\(withdrawal.enquiryID)", "status": "\(lifecycle.status.rawValue)"])
            guard [.complete, .decided].contains(lifecycle.status) else { return [] }
            let id = withdrawal.enquiryID
            let references = try subjects(ofEnquiry: id, household: false, db).split(separator: ",").map(String.init)
            return try openCorrection(
                CorrectionRequest(
                    id: messageID, action: .restrict, requestedBy: withdrawal.recordedBy,
                    reason: "consent withdrawn at \(Instant.format(withdrawal.withdrawnAt)) after the package went",
                    references: references, person: try storedEnquiry(id, db).subject, caseID: id), db, now: now())
        }
        let messages = try carryOut(effects, enquiry: withdrawal.enquiryID, cancelling: "consent withdrawn", db)
        logger.info(
            "consent withdrawn; requests cancelled",
            metadata: ["enquiry": "\(withdrawal.enquiryID)", "cancelled": "\(messages.count)"])
        return messages
    }

    /// The enquiry's lifecycle as the store has it; nil if there is no such enquiry.
    func lifecycle(of enquiryID: String, _ db: any SQLDatabase) throws -> EnquiryLifecycle? {
        guard
            let raw = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM enquiry WHERE id = ?"), arguments: [enquiryID])
        else { return nil }
        guard let status = EnquiryStatus(rawValue: raw) else {
            throw CorruptStore(detail: "enquiry \(enquiryID) has the unknown status '\(raw)'")
        }
        let requests = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT id, agency, mandatory, status FROM request WHERE enquiry_id = ? ORDER BY agency"),
            arguments: [enquiryID]
        ).map { row in
            let id: String = row["id"]
            guard let status = RequestStatus(rawValue: row["status"]) else {
                throw CorruptStore(detail: "request \(id) has the unknown status '\(row["status"] as String)'")
            }
            return EnquiryLifecycle.Request(id: id, agency: row["agency"], mandatory: row["mandatory"], status: status)
        }
        return EnquiryLifecycle(status: status, requests: requests)
    }

    /// Carries out what the lifecycle decided about requests and closing, in the caller's transaction; the
    /// answer itself and the package are the response flow's (`recordAnswer`, `deliverPackage`).
    func carryOut(
        _ effects: [EnquiryLifecycle.Effect], enquiry: String, cancelling reason: String, _ db: any SQLDatabase
    )
        throws -> [OutboxMessage]
    {
        var messages: [OutboxMessage] = []
        for effect in effects {
            switch effect {
            case .cancelRequest(let requestID, let agency):
                try db.executeCached(
                    sql: "UPDATE request SET status = ? WHERE id = ?",
                    arguments: [RequestStatus.cancelled.rawValue, requestID])
                try db.executeCached(
                    sql: "UPDATE timer SET fired_at = ? WHERE request_id = ? AND fired_at IS NULL",
                    arguments: [now().timeIntervalSince1970, requestID])
                messages.append(
                    try notice(
                        Notice(
                            type: .requestCancellation, enquiryID: enquiry, requestID: requestID, agency: agency,
                            reason: reason, at: now()),
                        to: agency, exchange: HubQueues.enquiriesExchange))
            case .closeWithdrawn:
                try close(enquiry, as: .withdrawn, db)
            case .recordAnswer, .ignoreAnswer, .deliverPackage, .recordDecision, .refuseDecision:
                break
            }
        }
        return messages
    }

    /// Closes the enquiry and stops its timers; a complete one (its package delivered) keeps its decision
    /// clock, which the decision stops.
    func close(_ enquiryID: String, as status: EnquiryStatus, _ db: any SQLDatabase) throws {
        try db.executeCached(
            sql: "UPDATE enquiry SET status = ?, completed_at = ? WHERE id = ?",
            arguments: [status.rawValue, now().timeIntervalSince1970, enquiryID])
        try stopTimers(of: enquiryID, status == .complete ? .partners : .all, db)
    }

    /// An enquiry's SLA timers: its requests' (the partners clock) have a request id, the decision clock's not.
    enum Clocks {
        case all, partners, decision
    }

    /// Stops those of the enquiry's timers still to fire (marked fired now, before their moment).
    func stopTimers(of enquiryID: String, _ clocks: Clocks, _ db: any SQLDatabase) throws {
        let which =
            switch clocks {
            case .all: ""
            case .partners: " AND request_id IS NOT NULL"
            case .decision: " AND request_id IS NULL"
            }
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND fired_at IS NULL" + which,
            arguments: [now().timeIntervalSince1970, enquiryID])
    }
}
