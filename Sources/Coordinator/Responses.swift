import AMQP
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService
import Sealing

extension Coordinator {
    /// A research response: checked against the request it answers (the sender must be the agency the request
    /// went to), stored once, and the package delivered when every mandatory agency has answered.
    @Sendable func handleResponse(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        if try recordPartyReport(message, db) { return [] }
        if DocumentType(rawValue: message.type) == .correctionReceipt {
            let receipt = try readDocument {
                try CorrectionReceipt(json: message.payload, source: "message \(message.messageID)")
            }
            try record(receipt, from: message.sender, messageID: message.messageID, db)
            return []
        }
        if DocumentType(rawValue: message.type) == .challenge {
            // An agency challenges a decision through its adapter, on the responses exchange it may write to.
            guard settings.routing.agencies[message.sender] != nil else {
                throw Refusal(reason: "senderNotAllowed", detail: "'\(message.sender)' is not an agency")
            }
            let challenge = try readDocument {
                try Challenge(json: message.payload, source: "message \(message.messageID)", now: now())
            }
            return try receive(challenge, from: message.sender, asReceived: message.payload, db)
        }
        guard DocumentType(rawValue: message.type) == .researchResponse else {
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not taken on \(message.queue)")
        }
        let opened = message.opened
        let response = try readDocument {
            try ResearchResponse(json: opened.payload, source: "message \(opened.messageID)")
        }
        guard
            let request = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT agency, enquiry_id, status FROM request WHERE id = ?"),
                arguments: [response.requestID])
        else {
            throw Refusal(reason: "unknownRequest", detail: "no request \(response.requestID)")
        }
        let agency: String = request["agency"]
        let enquiryID: String = request["enquiry_id"]
        guard opened.sender == agency, response.agency == agency, response.enquiryID == enquiryID else {
            throw Refusal(
                reason: "wrongAgency",
                detail: "request \(response.requestID) went to \(agency); this answer was signed by \(opened.sender)")
        }
        guard var lifecycle = try lifecycle(of: enquiryID, db) else {
            throw CorruptStore(detail: "request \(response.requestID) belongs to no enquiry")
        }
        let subjectRef =
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT subject_ref FROM enquiry WHERE id = ?"), arguments: [enquiryID]) ?? ""
        var messages: [OutboxMessage] = []
        let effects = lifecycle.answer(response.requestID)
        for effect in effects {
            switch effect {
            case .ignoreAnswer(_, let status):
                logger.notice(
                    "response to a request no longer open; ignored",
                    metadata: ["request": "\(response.requestID)", "status": "\(status.rawValue)"])
            case .recordAnswer:
                try record(response, messageID: opened.messageID, enquiryID: enquiryID, subjectRef: subjectRef, db)
                metrics.increment("mash_answers_total", [("agency", agency), ("outcome", response.outcome.rawValue)])
            case .deliverPackage:
                messages.append(try deliverPackage(enquiryID, subjectRef: subjectRef, db))
            case .recordDecision, .refuseDecision:
                break
            case .cancelRequest, .closeWithdrawn:
                messages += try carryOut(
                    [effect], enquiry: enquiryID,
                    cancelling: "the package went to the decision maker without this answer", db)
            }
        }
        return messages
    }

    /// A heartbeat or a refusal report, from an adapter (on `mash.responses`) or a desk (on `mash.intake`):
    /// recorded, and true; false for any other message.
    func recordPartyReport(_ message: InboundMessage, _ db: any SQLDatabase) throws -> Bool {
        let type = DocumentType(rawValue: message.type)
        guard type == .adapterHeartbeat || type == .refusalReport else { return false }
        // A member of staff's key is trusted for operator requests; only parties report.
        guard PartyName.isValid(message.sender) else {
            throw Refusal(reason: "senderNotAllowed", detail: "'\(message.sender)' is not a party")
        }
        switch type {
        case .adapterHeartbeat:
            try recordHeartbeat(message.opened, db)
        case .refusalReport:
            let report = try readDocument {
                try RefusalReport(json: message.payload, source: "message \(message.messageID)")
            }
            guard report.party == message.sender else {
                throw Refusal(
                    reason: "wrongAgency", detail: "a refusal report for \(report.party) signed by \(message.sender)")
            }
            try db.executeCached(
                sql: """
                    INSERT INTO refusal (party, queue, message_id, type, reason, detail, refused_at, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (queue, message_id, party) DO UPDATE SET reason = excluded.reason, detail = excluded.detail,
                        refused_at = excluded.refused_at, received_at = excluded.received_at
                    """,
                arguments: [
                    report.party, report.queue, report.messageID, report.type, report.reason, report.detail,
                    report.refusedAt.timeIntervalSince1970, now().timeIntervalSince1970,
                ])
            metrics.increment("mash_refusal_reports_total", [("party", report.party), ("reason", report.reason)])
            logger.notice(
                "a party refused a message",
                metadata: [
                    "party": "\(report.party)", "queue": "\(report.queue)", "message": "\(report.messageID)",
                    "reason": "\(report.reason)",
                ])
        default:
            return false
        }
        return true
    }

    /// A heartbeat needs no inbox entry: recording it twice changes nothing, and an older one never replaces
    /// a newer one.
    private func recordHeartbeat(_ opened: OpenedMessage, _ db: any SQLDatabase) throws {
        let heartbeat = try readDocument {
            try AdapterHeartbeat(json: opened.payload, source: "message \(opened.messageID)")
        }
        guard heartbeat.agency == opened.sender else {
            throw Refusal(
                reason: "wrongAgency", detail: "a heartbeat for \(heartbeat.agency) signed by \(opened.sender)")
        }
        do {
            try db.executeCached(
                sql: """
                    INSERT INTO adapter (agency, last_heartbeat_at, pending, version, heartbeat_interval)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (agency) DO UPDATE SET last_heartbeat_at = excluded.last_heartbeat_at,
                        pending = excluded.pending, version = excluded.version,
                        heartbeat_interval = excluded.heartbeat_interval
                    WHERE adapter.last_heartbeat_at IS NULL OR adapter.last_heartbeat_at < excluded.last_heartbeat_at
                    """,
                arguments: [
                    heartbeat.agency, heartbeat.sentAt.timeIntervalSince1970, heartbeat.pending, heartbeat.version,
                    heartbeat.interval,
                ])
        }
    }

    private func record(
        _ response: ResearchResponse, messageID: String, enquiryID: String, subjectRef: String, _ db: any SQLDatabase
    ) throws {
        let now = now()
        try db.executeCached(
            sql: "UPDATE request SET status = ?, outcome = ?, response = ?, answered_at = ? WHERE id = ?",
            arguments: [
                RequestStatus.answered.rawValue, response.outcome.rawValue,
                Data(
                    try sealForStore(
                        response.json, table: "request", id: response.requestID, scope: "enquiry:" + enquiryID)),
                now.timeIntervalSince1970, response.requestID,
            ])
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE request_id = ? AND fired_at IS NULL",
            arguments: [now.timeIntervalSince1970, response.requestID])
        try db.executeCached(
            sql: """
                INSERT INTO adapter (agency, last_response_at) VALUES (?, ?)
                ON CONFLICT (agency) DO UPDATE SET last_response_at = excluded.last_response_at
                """, arguments: [response.agency, now.timeIntervalSince1970])
        try RecordOfSharing.append(
            db, at: now, sender: response.agency, recipient: settings.identity, purpose: settings.routing.purpose,
            lawfulBasis: response.lawfulBasis, dataCategories: response.dataCategories, messageID: messageID,
            enquiryID: enquiryID, subjectRef: subjectRef,
            subjects: try subjects(
                ofEnquiry: enquiryID, household: settings.routing.agencies[response.agency]?.receivesHousehold ?? true,
                db))
        logger.info(
            "response recorded",
            metadata: [
                "enquiry": "\(enquiryID)", "agency": "\(response.agency)", "outcome": "\(response.outcome.rawValue)",
            ])
    }

    /// The decision package, with every answer in (and the agencies that did not answer named): sealed to the
    /// decision maker, the enquiry closed as complete, the sharing recorded.
    private func deliverPackage(_ enquiryID: String, subjectRef: String, _ db: any SQLDatabase) throws -> OutboxMessage
    {
        let requests = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, agency, response FROM request WHERE enquiry_id = ? ORDER BY agency"),
            arguments: [enquiryID])
        guard
            let enquiryRow = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT partners_due, decision_due FROM enquiry WHERE id = ?"),
                arguments: [enquiryID])
        else { throw CorruptStore(detail: "no enquiry \(enquiryID) for its package") }
        let now = now()
        let enquiry = try storedEnquiry(enquiryID, db)
        var responses: [ResearchResponse] = []
        var notAnswered: [String] = []
        for row in requests {
            let id: String = row["id"]
            if let sealed: Data = row["response"] {
                responses.append(
                    try ResearchResponse(
                        json: try openFromStore(Array(sealed), table: "request", id: id, scope: "enquiry:" + enquiryID),
                        source: "store request \(id)")
                )
            } else {
                notAnswered.append(row["agency"])
            }
        }
        let package = DecisionPackage(
            enquiry: enquiry, partnersDue: Date(timeIntervalSince1970: enquiryRow["partners_due"]),
            decisionDue: Date(timeIntervalSince1970: enquiryRow["decision_due"]), responses: responses,
            notAnswered: notAnswered, completedAt: now)
        let message = try sealed(
            package.json, type: .decisionPackage, to: settings.decisionMaker, exchange: HubQueues.decisionsExchange,
            routingKey: settings.decisionMaker,
            headers: [
                "x-mash-enquiry": enquiryID, "x-mash-rag": enquiry.rag.rawValue,
                "x-mash-due": Instant.format(package.decisionDue),
            ])
        try close(enquiryID, as: .complete, db)
        let categories = responses.reduce(into: Set<DataCategory>([.personal])) { $0.formUnion($1.dataCategories) }
        // The package passes on what the agencies disclosed, so it rests on their conditions as well.
        var basis = enquiry.lawfulBasis
        basis.article9 = basis.article9 ?? responses.lazy.compactMap(\.lawfulBasis.article9).first
        basis.article10 = basis.article10 ?? responses.lazy.compactMap(\.lawfulBasis.article10).first
        try RecordOfSharing.append(
            db, at: now, sender: settings.identity, recipient: settings.decisionMaker,
            purpose: settings.routing.purpose, lawfulBasis: basis, dataCategories: categories,
            messageID: message.messageID, enquiryID: enquiryID, subjectRef: subjectRef,
            subjects: try subjects(ofEnquiry: enquiryID, household: true, db), grounds: enquiry.grounds)
        logger.info(
            "decision package delivered", metadata: ["enquiry": "\(enquiryID)", "responses": "\(responses.count)"])
        return message
    }
}
