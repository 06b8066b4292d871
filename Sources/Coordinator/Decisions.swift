import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

extension Coordinator {
    /// The decision maker's decision on a delivered package: stored (sealed, like the enquiry), the decision
    /// clock stopped, the sharing recorded both ways, and the outcome sent to the referrer and to every agency
    /// that answered (their copy without the rationale). A decision on an
    /// enquiry with no package yet, or a second decision, is refused. A late decision is recorded as late; its
    /// breach was already alerted when the decision clock ran out.
    func record(_ decision: Decision, messageID: String, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard var lifecycle = try lifecycle(of: decision.enquiryID, db) else {
            throw Refusal(reason: "unknownEnquiry", detail: "no enquiry \(decision.enquiryID)")
        }
        var messages: [OutboxMessage] = []
        for effect in lifecycle.decide() {
            switch effect {
            case .refuseDecision(let reason, let detail):
                throw Refusal(reason: reason, detail: detail)
            case .recordDecision:
                messages += try recordDecision(decision, messageID: messageID, db)
            case .recordAnswer, .ignoreAnswer, .cancelRequest, .deliverPackage, .closeWithdrawn:
                break
            }
        }
        return messages
    }

    private func recordDecision(_ decision: Decision, messageID: String, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let id = decision.enquiryID
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT sender, subject_ref, decision_due FROM enquiry WHERE id = ?"),
                arguments: [id])
        else { throw CorruptStore(detail: "no enquiry \(id) for its decision") }
        let now = now()
        let referrer: String = row["sender"]
        let subjectRef: String = row["subject_ref"]
        let decisionDue = Date(timeIntervalSince1970: row["decision_due"])
        let enquiry = try storedEnquiry(id, db)
        let late = decision.decidedAt > decisionDue
        try db.executeCached(
            sql: "UPDATE enquiry SET status = ?, decided_at = ?, decision_outcome = ?, decision = ? WHERE id = ?",
            arguments: [
                EnquiryStatus.decided.rawValue, decision.decidedAt.timeIntervalSince1970, decision.outcome.rawValue,
                Data(try sealForStore(decision.json, table: "decision", id: id, scope: "enquiry:" + id)), id,
            ])
        try stopTimers(of: id, .decision, db)
        try RecordOfSharing.append(
            db, at: now, sender: settings.decisionMaker, recipient: settings.identity,
            purpose: settings.routing.purpose, lawfulBasis: enquiry.lawfulBasis, dataCategories: [.personal],
            messageID: messageID, enquiryID: id, subjectRef: subjectRef,
            subjects: try subjects(ofEnquiry: id, household: false, db), grounds: enquiry.grounds)
        let outcome = EnquiryOutcome(
            enquiryID: id, reference: enquiry.reference, outcome: decision.outcome, rationale: decision.rationale,
            decidedBy: decision.decidedBy, decidedAt: decision.decidedAt, decisionDue: decisionDue, late: late)
        let sharing = Sharing(
            purpose: settings.routing.purpose, basis: enquiry.lawfulBasis, categories: [.personal], caseID: id,
            subjectRef: subjectRef, subjects: try subjects(ofEnquiry: id, household: false, db),
            grounds: enquiry.grounds)
        func send(_ outcome: EnquiryOutcome, to party: String, exchange: String, headers: [String: String])
            throws -> OutboxMessage
        {
            try disclose(
                outcome.json, .outcome, to: party, exchange: exchange, routingKey: party, headers: headers, sharing,
                db, now: now)
        }
        var messages = [
            try send(outcome, to: referrer, exchange: HubQueues.noticesExchange, headers: ["x-mash-enquiry": id])
        ]
        let answered = try Row.fetchAll(
            db.cachedStatement(
                sql: "SELECT id, agency FROM request WHERE enquiry_id = ? AND status = ? ORDER BY agency"),
            arguments: [id, RequestStatus.answered.rawValue])
        for row in answered {
            let request: String = row["id"]
            // An agency that has left the agreement since it answered is not told the decision; the decision
            // itself stands.
            if let refusal = notSignatory(row["agency"]) {
                logger.warning("outcome not sent", metadata: ["enquiry": "\(id)", "reason": "\(refusal)"])
                continue
            }
            messages.append(
                try send(
                    outcome.forAgency(request: request), to: row["agency"], exchange: HubQueues.enquiriesExchange,
                    headers: ["x-mash-enquiry": id, "x-mash-request": request]))
        }
        messages += try tellReferrer(ofEnquiry: id, decision, db, now: now)
        metrics.increment("mash_decisions_total", [("outcome", decision.outcome.rawValue), ("late", "\(late)")])
        logger.info(
            "decision recorded",
            metadata: [
                "enquiry": "\(id)", "outcome": "\(decision.outcome.rawValue)", "late": "\(late)",
                "agencies": "\(answered.count)",
            ])
        return messages
    }
}
