import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// The front door (DESIGN.md flow 7): a professional's contact from the portal goes to the SPA to screen by the
/// end of the next working day; the screening opens a MASH enquiry through the same consent gate and routing
/// as the SPA's own, or closes the contact; the referrer is told the outcome in words for a professional.
extension Coordinator {
    static let contactBasis = LawfulBasis(article6: .publicTask, article9: .substantialPublicInterest)
    static let contactPurpose = "A professional's contact to the SPA: screening (Children Act 1989 s17, s47)"
    static let screeningClock = "screening"
    static let feedbackClock = "feedback"
    static let summaryClock = "consultation-summary"

    private func contactSharing(_ contact: Contact, subjectRef: String) -> Sharing {
        Sharing(
            purpose: Self.contactPurpose, basis: Self.contactBasis, categories: [.personal, .specialCategory],
            caseID: contact.id, subjectRef: subjectRef,
            subjects: SubjectReference.list([contact.child] + contact.household, keyring: keyring))
    }

    /// A contact from a portal: kept (sealed), on the SPA's list, due screened by the close of the next working
    /// day. A contact id seen before is ignored.
    func receive(_ contact: Contact, from portal: String, asReceived: [UInt8], _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM contact WHERE id = ?"), arguments: [contact.id])
            == true
        {
            logger.notice("contact already received; ignored", metadata: ["contact": "\(contact.id)"])
            return []
        }
        let now = now()
        let calendar = settings.calendar
        let next = calendar.nextWorkingDay(after: calendar.localDate(of: now))
        let due = calendar.session(on: next)?.closes ?? now.addingTimeInterval(86400)
        let subjectRef = register.childRef(contact.child) ?? keyring.pseudonym(of: "contact:" + contact.id)
        let sharing = contactSharing(contact, subjectRef: subjectRef)
        try RecordOfSharing.append(
            db, at: now, sender: portal, recipient: settings.identity, purpose: sharing.purpose,
            lawfulBasis: sharing.basis, dataCategories: sharing.categories, messageID: contact.id,
            enquiryID: contact.id, subjectRef: subjectRef, subjects: sharing.subjects)
        try db.executeCached(
            sql: """
                INSERT INTO contact (id, reference, portal, referrer, received_at, screen_due, state, subject_ref,
                    subjects, consultation, document)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                contact.id, contact.reference, portal, contact.referrer.staffID, now.timeIntervalSince1970,
                due.timeIntervalSince1970, ContactState.received.rawValue, subjectRef, sharing.subjects,
                contact.consultation,
                Data(try sealForStore(asReceived, table: "contact", id: contact.id, scope: "contact:" + contact.id)),
            ])
        try addTimer(db, .breach, clock: Self.screeningClock, at: due, enquiry: contact.id, request: nil)
        let screener = settings.routing.frontDoor.screeners.sorted().first ?? "spa"
        metrics.increment("mash_contacts_total", [("portal", portal)])
        return [
            try disclose(
                asReceived, .contact, to: screener, exchange: HubQueues.noticesExchange, routingKey: screener,
                headers: ["x-mash-contact": contact.id, "x-mash-due": Instant.format(due)], sharing, db, now: now)
        ]
    }

    /// The SPA's screening of a contact: recorded once; a MASH enquiry opened through the consent gate (a
    /// screening the gate would refuse is refused whole, and the contact stays on the SPA's list); any other
    /// decision tells the referrer at once.
    func record(_ screening: Screening, from screener: String, messageID: String, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT state, portal, subject_ref, document FROM contact WHERE id = ?"),
                arguments: [screening.contactID])
        else { throw Refusal(reason: "unknownContact", detail: "no contact \(screening.contactID)") }
        guard row["state"] as String == ContactState.received.rawValue else {
            throw Refusal(reason: "alreadyScreened", detail: "contact \(screening.contactID) was screened already")
        }
        let now = now()
        let id = screening.contactID
        let asReceived = try openFromStore(
            Array(row["document"] as Data), table: "contact", id: id, scope: "contact:" + id)
        let contact = try Contact(json: asReceived, source: "store contact \(id)", now: .distantFuture)
        var messages: [OutboxMessage] = []
        var opened: String?
        if screening.decision == .mashEnquiry {
            guard
                let enquiry = screening.enquiry(
                    id: UUID().uuidString.lowercased(), for: contact, receivedAt: now,
                    lawfulBasis: LawfulBasis(
                        article6: .publicTask, article9: .substantialPublicInterest, article10: .safeguardingChildren))
            else { throw CorruptStore(detail: "a mash-enquiry screening without its enquiry") }
            // The enquiry is read back as any other would be: a contact without what an enquiry needs (the
            // child's date of birth, when the SPA did not add it) is refused whole, never stored unreadable.
            do {
                _ = try Enquiry(json: enquiry.json, source: "contact \(id)", now: now)
            } catch let error as DocumentError {
                throw Refusal(
                    reason: "enquiryIncomplete",
                    detail: "contact \(id): field '\(error.field)' is missing or invalid for a MASH enquiry")
            }
            if case .failure(let refusal) = settings.routing.admit(enquiry) {
                throw Refusal(reason: "consentRequired", detail: "contact \(id): \(refusal.reason)")
            }
            messages += try open(enquiry, from: screener, db)
            opened = enquiry.id
        }
        try db.executeCached(
            sql: """
                UPDATE contact SET state = ?, decision = ?, screened_by = ?, screened_at = ?, enquiry_id = ?,
                    feedback = ?
                WHERE id = ?
                """,
            arguments: [
                ContactState.screened.rawValue, screening.decision.rawValue, screening.screenedBy,
                screening.screenedAt.timeIntervalSince1970, opened,
                Data(
                    try sealForStore(
                        Array(screening.feedback.utf8), table: "contact.feedback", id: id, scope: "contact:" + id)),
                id,
            ])
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND clock = ? AND fired_at IS NULL",
            arguments: [now.timeIntervalSince1970, id, Self.screeningClock])
        metrics.increment("mash_screenings_total", [("decision", screening.decision.rawValue)])
        if opened == nil {
            messages.append(
                try tellReferrer(
                    contact, portal: row["portal"], subjectRef: row["subject_ref"],
                    outcome: screening.decision.rawValue, words: screening.feedback, db, now: now))
        }
        return messages
    }

    /// The outcome for the professional who made the contact, in words for them: never a partner's findings.
    private func tellReferrer(
        _ contact: Contact, portal: String, subjectRef: String, outcome: String, words: String,
        enquiryID: String? = nil, _ db: any SQLDatabase, now: Date
    ) throws -> OutboxMessage {
        let document: [String: Any] = [
            "schema": DocumentType.contactOutcome.rawValue, "contactID": contact.id, "reference": contact.reference,
            "referrer": contact.referrer.staffID, "outcome": outcome, "feedback": words, "at": Instant.format(now),
        ]
        let due = settings.calendar.sameTimeNextWorkingDay(after: now)
        try db.executeCached(
            sql: "UPDATE contact SET state = ?, outcome = ?, told_at = ?, feedback_due = ? WHERE id = ?",
            arguments: [
                ContactState.told.rawValue, outcome, now.timeIntervalSince1970, due.timeIntervalSince1970, contact.id,
            ])
        try addTimer(db, .breach, clock: Self.feedbackClock, at: due, enquiry: contact.id, request: nil)
        return try disclose(
            DocumentWriter.encode(document), .contactOutcome, to: portal, exchange: HubQueues.noticesExchange,
            routingKey: HubQueues.portalNotices(of: portal),
            // A MASH enquiry's decision names the enquiry, so the portal can offer its challenge.
            headers: ["x-mash-contact": contact.id].merging(enquiryID.map { ["x-mash-enquiry": $0] } ?? [:]) { $1 },
            contactSharing(contact, subjectRef: subjectRef), db, now: now)
    }

    /// When a MASH enquiry opened from a contact is decided, the referrer is told what happens next.
    func tellReferrer(ofEnquiry enquiryID: String, _ decision: Decision, _ db: any SQLDatabase, now: Date) throws
        -> [OutboxMessage]
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, portal, subject_ref, document FROM contact WHERE enquiry_id = ?"),
                arguments: [enquiryID])
        else { return [] }
        let id: String = row["id"]
        let contact = try Contact(
            json: try openFromStore(Array(row["document"] as Data), table: "contact", id: id, scope: "contact:" + id),
            source: "store contact \(id)", now: .distantFuture)
        return [
            try tellReferrer(
                contact, portal: row["portal"], subjectRef: row["subject_ref"], outcome: decision.outcome.rawValue,
                words: Self.referrerWords(decision.outcome), enquiryID: enquiryID, db, now: now)
        ]
    }

    static func referrerWords(_ outcome: DecisionOutcome) -> String {
        switch outcome {
        case .noFurtherAction: "The MASH found no further action is needed from children's social care."
        case .informationAndAdvice: "The MASH gave information and advice; no further action by children's social care."
        case .earlyHelp: "The family is offered Early Help support."
        case .singleAgency: "One agency will support the family; children's social care will take no further action."
        case .childInNeedAssessment: "A social worker will assess the child's needs (a child in need assessment)."
        case .strategyDiscussion: "Children's social care and the police are holding a strategy discussion."
        }
    }

    /// The screening clock ran out with the contact still unscreened: the Practice Manager is told, once.
    func escalateScreening(contact id: String, due: Date, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage] {
        guard
            try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM contact WHERE id = ?"), arguments: [id])
                == ContactState.received.rawValue
        else { return [] }
        metrics.increment("mash_sla_breaches_total", [("clock", Self.screeningClock)])
        let alert = Notice(
            type: .slaAlert, enquiryID: id, event: .breach, clock: Self.screeningClock, dueBy: due,
            reason: "Contact not screened by the end of the next working day", at: now)
        return [try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange)]
    }
}

extension Coordinator {
    static let consultationPurpose = "The No-Name Consultation Service's advice to a professional (no child identified)"

    /// A no-name consultation recorded by the SPA: kept, and its summary sent to the professional's portal at
    /// once; the portal's receipt is due within one working day of the consultation. An id seen before is ignored.
    func record(_ consultation: Consultation, from screener: String, asReceived: [UInt8], _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM consultation WHERE id = ?"), arguments: [consultation.id]) == true
        {
            return []
        }
        let now = now()
        let portal = try portal(of: consultation.professional)
        let due = settings.calendar.sameTimeNextWorkingDay(after: consultation.heldAt)
        try db.executeCached(
            sql: """
                INSERT INTO consultation (id, reference, screener, portal, professional, held_at, received_at,
                    summary_due, document)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                consultation.id, consultation.reference, screener, portal, consultation.professional.staffID,
                consultation.heldAt.timeIntervalSince1970, now.timeIntervalSince1970, due.timeIntervalSince1970,
                Data(
                    try sealForStore(
                        asReceived, table: "consultation", id: consultation.id,
                        scope: "consultation:" + consultation.id)),
            ])
        try addTimer(db, .breach, clock: Self.summaryClock, at: due, enquiry: consultation.id, request: nil)
        metrics.increment("mash_consultations_total", [("recommendation", consultation.recommendation.rawValue)])
        // A consultation names no one: the ledger entry's subject is the consultation itself.
        let sharing = Sharing(
            purpose: Self.consultationPurpose, basis: Self.contactBasis, categories: [.personal],
            caseID: consultation.id, subjectRef: keyring.pseudonym(of: "consultation:" + consultation.id))
        try RecordOfSharing.append(
            db, at: now, sender: screener, recipient: settings.identity, purpose: sharing.purpose,
            lawfulBasis: sharing.basis, dataCategories: sharing.categories, messageID: consultation.id,
            enquiryID: consultation.id, subjectRef: sharing.subjectRef, subjects: "")
        return [
            try disclose(
                consultation.json, .consultation, to: portal, exchange: HubQueues.noticesExchange,
                routingKey: HubQueues.portalNotices(of: portal),
                headers: ["x-mash-consultation": consultation.id, "x-mash-due": Instant.format(due)], sharing, db,
                now: now)
        ]
    }

    /// The portal a consultation's professional is reached on: the one named, else the hub's own (`portal`) or
    /// its only one, so a screener written before portals were named keeps working.
    private func portal(of professional: Consultation.Professional) throws -> String {
        let portals = settings.routing.frontDoor.portals
        if let named = professional.portal {
            guard portals.contains(named) else {
                throw Refusal(reason: "unknownPortal", detail: "\(named) is not one of the hub's portals")
            }
            return named
        }
        if portals.contains(HubQueues.hubPortal) { return HubQueues.hubPortal }
        guard portals.count == 1, let only = portals.first else {
            throw Refusal(
                reason: "portalRequired",
                detail: "the hub has \(portals.count) portals: professional.portal must name the professional's")
        }
        return only
    }

    /// A professional asks for a consultation's summary to be corrected: it goes to the SPA that recorded it.
    /// Only the professional the summary went to may ask.
    func record(_ correction: ConsultationCorrection, from portal: String, asReceived: [UInt8], _ db: any SQLDatabase)
        throws -> [OutboxMessage]
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT screener, portal, professional FROM consultation WHERE id = ?"),
                arguments: [correction.consultationID])
        else {
            throw Refusal(reason: "unknownConsultation", detail: "no consultation \(correction.consultationID)")
        }
        guard row["portal"] == portal, row["professional"] == correction.requestedBy else {
            throw Refusal(
                reason: "notTheProfessional",
                detail: "consultation \(correction.consultationID) was not given to \(correction.requestedBy)")
        }
        let now = now()
        try db.executeCached(
            sql: "UPDATE consultation SET corrections = corrections + 1 WHERE id = ?",
            arguments: [correction.consultationID])
        let screener: String = row["screener"]
        let sharing = Sharing(
            purpose: Self.consultationPurpose, basis: Self.contactBasis, categories: [.personal],
            caseID: correction.consultationID,
            subjectRef: keyring.pseudonym(of: "consultation:" + correction.consultationID))
        return [
            try disclose(
                asReceived, .consultationCorrection, to: screener, exchange: HubQueues.noticesExchange,
                routingKey: screener, headers: ["x-mash-consultation": correction.consultationID], sharing, db,
                now: now)
        ]
    }

    /// A portal holds a referrer's feedback: its clock stops. Only the portal it was sent to confirms it.
    func record(_ receipt: DeliveryReceipt, from portal: String, _ db: any SQLDatabase) throws {
        let (table, clock) =
            receipt.kind == .contactOutcome ? ("contact", Self.feedbackClock) : ("consultation", Self.summaryClock)
        try db.execute(
            sql: "UPDATE \(table) SET delivered_at = coalesce(delivered_at, ?) WHERE id = ? AND portal = ?",
            arguments: [receipt.receivedAt.timeIntervalSince1970, receipt.about, portal])
        guard db.changesCount == 1 else {
            throw Refusal(
                reason: "unknownFeedback", detail: "\(portal) was sent no \(receipt.kind.rawValue) \(receipt.about)")
        }
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND clock = ? AND fired_at IS NULL",
            arguments: [now().timeIntervalSince1970, receipt.about, clock])
        metrics.increment("mash_feedback_delivered_total", [("kind", receipt.kind.rawValue)])
    }

    /// The referrer's portal has not confirmed the outcome within one working day: the Practice Manager is told.
    func escalateFeedback(contact id: String, due: Date, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage] {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT delivered_at IS NULL FROM contact WHERE id = ?"), arguments: [id])
                == true
        else { return [] }
        metrics.increment("mash_sla_breaches_total", [("clock", Self.feedbackClock)])
        let alert = Notice(
            type: .slaAlert, enquiryID: id, event: .breach, clock: Self.feedbackClock, dueBy: due,
            reason: "The referrer's portal has not confirmed the outcome within one working day", at: now)
        return [try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange)]
    }

    /// A consultation's summary has not reached the professional's portal within one working day.
    func escalateSummary(consultation id: String, due: Date, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage]
    {
        guard
            try Bool.fetchOne(
                db.cachedStatement(sql: "SELECT delivered_at IS NULL FROM consultation WHERE id = ?"),
                arguments: [id]) == true
        else { return [] }
        metrics.increment("mash_sla_breaches_total", [("clock", Self.summaryClock)])
        let alert = Notice(
            type: .slaAlert, enquiryID: id, event: .breach, clock: Self.summaryClock, dueBy: due,
            reason: "A no-name consultation's summary has not reached the professional within one working day",
            at: now)
        return [try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange)]
    }
}

/// A contact's state in the store.
enum ContactState: String {
    /// On the SPA's list.
    case received
    /// Screened into a MASH enquiry; the referrer is told when it is decided.
    case screened
    /// The referrer has been sent the outcome.
    case told
}
