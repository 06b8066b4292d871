import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

extension Coordinator {
    /// The Practice Manager's triage outcome for a DAN on a triage list: recorded once (a second is refused,
    /// the first stands), entered in the record of sharing, and routed as decided: an Early Help notice to
    /// CSC's front door, an enquiry opened about the chosen child (through the same consent gate and routing
    /// as the SPA's), or recorded only (no further action; the school and health informed by the meeting).
    func record(_ outcome: TriageOutcome, messageID: String, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT triage_date, triage_decision, document FROM dan WHERE id = ?"),
                arguments: [outcome.danID])
        else { throw Refusal(reason: "unknownDAN", detail: "no DAN \(outcome.danID)") }
        guard row["triage_date"] as String? != nil else {
            throw Refusal(
                reason: "notForTriage", detail: "DAN \(outcome.danID) was routed at once, not to a triage")
        }
        if let earlier = row["triage_decision"] as String? {
            throw Refusal(reason: "alreadyTriaged", detail: "DAN \(outcome.danID) was triaged as \(earlier)")
        }
        let now = now()
        let document: Data = row["document"]
        let asReceived = try openFromStore(
            Array(document), table: "dan", id: outcome.danID, scope: "dan:" + outcome.danID)
        let dan = try DomesticAbuseNotification(
            json: asReceived, source: "store dan \(outcome.danID)", now: .distantFuture)
        let subjectRef = subjectRef(of: dan)
        let sharing = Sharing(
            purpose: Self.danPurpose, basis: Self.danBasis, categories: [.personal, .criminalOffence],
            caseID: dan.id, subjectRef: subjectRef, subjects: subjects(of: dan))
        try RecordOfSharing.append(
            db, at: now, sender: settings.practiceManager, recipient: settings.identity, purpose: sharing.purpose,
            lawfulBasis: sharing.basis, dataCategories: [.personal], messageID: messageID, enquiryID: dan.id,
            subjectRef: subjectRef, subjects: sharing.subjects)

        var messages: [OutboxMessage] = []
        var opened: String?
        switch outcome.decision {
        case .noFurtherAction, .schoolHealthInformed:
            break
        case .earlyHelp:
            let notice: [String: Any] = [
                "schema": DocumentType.earlyHelpNotice.rawValue, "danID": dan.id, "rationale": outcome.rationale,
                "triagedBy": outcome.triagedBy, "triagedAt": Instant.format(outcome.triagedAt),
                "notification": Self.notification(dan, asReceived: asReceived),
            ]
            messages.append(
                try disclose(
                    DocumentWriter.encode(notice), .earlyHelpNotice, to: settings.routing.notifications.socialCare,
                    exchange: HubQueues.noticesExchange, routingKey: HubQueues.socialCareContacts,
                    headers: ["x-mash-dan": dan.id], sharing, db, now: now))
        case .openEnquiry:
            guard let request = outcome.enquiry,
                let enquiry = dan.enquiry(
                    id: UUID().uuidString.lowercased(), from: outcome, request, receivedAt: now,
                    lawfulBasis: Self.danBasis)
            else {
                throw Refusal(
                    reason: "notAnEnquirySubject",
                    detail: "child \(outcome.enquiry?.child ?? -1) of DAN \(dan.id) is not a born child with a name "
                        + "and date of birth")
            }
            messages += try open(enquiry, from: settings.practiceManager, db)
            opened = enquiry.id
        }
        try db.executeCached(
            sql: """
                UPDATE dan SET triage_decision = ?, triaged_by = ?, triaged_at = ?, triage_enquiry = ? WHERE id = ?
                """,
            arguments: [
                outcome.decision.rawValue, outcome.triagedBy, outcome.triagedAt.timeIntervalSince1970, opened, dan.id,
            ])
        metrics.increment("mash_dan_triage_outcomes_total", [("decision", outcome.decision.rawValue)])
        logger.info(
            "DAN triaged",
            metadata: [
                "dan": "\(dan.id)", "decision": "\(outcome.decision.rawValue)", "enquiry": "\(opened ?? "-")",
            ])
        return messages
    }
}
