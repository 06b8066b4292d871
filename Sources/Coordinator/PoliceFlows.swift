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

/// Domestic Abuse Notifications, the open-case register and Operation Encompass (DESIGN.md flows 3 and 4).
extension Coordinator {
    /// Sharing police information about an incident with the people who safeguard the children in it.
    static let danBasis = LawfulBasis(article6: .publicTask, article10: .safeguardingChildren)
    static let danPurpose = "Domestic abuse notification: safeguarding the children (Children Act 2004 s11)"

    /// Everything on `coordinator.notifications`: DANs, open-case updates, school rolls, Encompass receipts.
    @Sendable func handleNotification(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let source = "message \(message.messageID)"
        let flows = settings.routing.notifications
        func allow(_ senders: Set<String>, _ what: String) throws {
            guard senders.contains(message.sender) else {
                throw Refusal(reason: "senderNotAllowed", detail: "'\(message.sender)' may not send \(what)")
            }
        }
        if try recordPartyReport(message, db) { return [] }
        switch DocumentType(rawValue: message.type) {
        case .domesticAbuseNotification:
            try allow(flows.danSenders, "domestic abuse notifications")
            let dan = try readDocument {
                try DomesticAbuseNotification(json: message.payload, source: source, now: now())
            }
            return try receive(dan, asReceived: message.payload, db)
        case .openCase:
            try allow(flows.openCaseSenders, "open-case updates")
            let update = try readDocument { try OpenCaseUpdate(json: message.payload, source: source) }
            try record(update, db)
            return []
        case .schoolRoll:
            try allow(flows.rollSenders, "school rolls")
            let file = try readDocument { try SchoolRollFile(json: message.payload, source: source) }
            return try ingest(file, rollID: message.messageID, from: message.sender, db)
        case .encompassAcknowledgement:
            let receipt = try readDocument { try EncompassAcknowledgement(json: message.payload, source: source) }
            try acknowledge(receipt, from: message.sender, db)
            return []
        case .triageOutcome:
            try allow([settings.practiceManager], "triage outcomes")
            let outcome = try readDocument { try TriageOutcome(json: message.payload, source: source, now: now()) }
            return try record(outcome, messageID: message.messageID, db)
        case .decision:
            try allow([settings.decisionMaker], "decisions")
            let decision = try readDocument { try Decision(json: message.payload, source: source, now: now()) }
            return try record(decision, messageID: message.messageID, db)
        case .deadLetterReplay:
            let replay = try readDocument { try DeadLetterReplay(json: message.payload, source: source) }
            try authorise(message, .replayDeadLetters, requestedBy: replay.replayedBy)
            try record(replay, message, db)
            return []
        case .subjectAccess:
            let access = try readDocument { try SubjectAccess(json: message.payload, source: source) }
            try authorise(message, .subjectAccess, requestedBy: access.request.requestedBy)
            try record(access, message, db)
            return []
        case .subjectRestriction:
            let restriction = try readDocument { try SubjectRestriction(json: message.payload, source: source) }
            try authorise(message, .subjectRights, requestedBy: restriction.request.requestedBy)
            return try record(restriction, message, db)
        case .subjectCorrection:
            let correction = try readDocument { try SubjectCorrection(json: message.payload, source: source) }
            try authorise(message, .subjectRights, requestedBy: correction.request.requestedBy)
            return try record(correction, message, db)
        case .breachReport:
            let report = try readDocument { try BreachReport(json: message.payload, source: source) }
            try authorise(
                message, report.action == .open ? .reportBreach : .manageBreaches, requestedBy: report.requestedBy)
            return try record(report, message, db)
        case .correctionReceipt:
            let receipt = try readDocument { try CorrectionReceipt(json: message.payload, source: source) }
            try record(receipt, from: message.sender, messageID: message.messageID, db)
            return []
        case .openCaseRegister:
            let register = try readDocument { try OpenCaseRegisterImport(json: message.payload, source: source) }
            try authorise(message, .importOpenCases, requestedBy: register.importedBy)
            try record(register, message, db)
            return []
        case .missingReport:
            try allow(settings.routing.missing.senders, "missing reports")
            let report = try readDocument { try MissingReport(json: message.payload, source: source, now: now()) }
            return try receive(report, asReceived: message.payload, db)
        case .foundReport:
            try allow(settings.routing.missing.senders, "found reports")
            let report = try readDocument { try FoundReport(json: message.payload, source: source, now: now()) }
            return try receive(report, asReceived: message.payload, db)
        case .returnInterview:
            let interview = try readDocument { try ReturnInterview(json: message.payload, source: source, now: now()) }
            return try record(interview, asReceived: message.payload, from: message.sender, db)
        case .contact:
            try allow(settings.routing.frontDoor.portals, "contacts")
            let contact = try readDocument { try Contact(json: message.payload, source: source, now: now()) }
            return try receive(contact, from: message.sender, asReceived: message.payload, db)
        case .screening:
            try allow(settings.routing.frontDoor.screeners, "screenings")
            let screening = try readDocument { try Screening(json: message.payload, source: source, now: now()) }
            return try record(screening, from: message.sender, messageID: message.messageID, db)
        case .consultation:
            try allow(settings.routing.frontDoor.screeners, "no-name consultations")
            let consultation = try readDocument {
                try Consultation(json: message.payload, source: source, now: now())
            }
            return try record(consultation, from: message.sender, asReceived: message.payload, db)
        case .consultationCorrection:
            try allow(settings.routing.frontDoor.portals, "consultation corrections")
            let correction = try readDocument {
                try ConsultationCorrection(json: message.payload, source: source, now: now())
            }
            return try record(correction, from: message.sender, asReceived: message.payload, db)
        case .deliveryReceipt:
            try allow(settings.routing.frontDoor.portals, "delivery receipts")
            let receipt = try readDocument { try DeliveryReceipt(json: message.payload, source: source, now: now()) }
            try record(receipt, from: message.sender, db)
            return []
        case .challenge:
            let challenge = try readDocument { try Challenge(json: message.payload, source: source, now: now()) }
            return try receive(challenge, from: message.sender, asReceived: message.payload, db)
        case .challengeStage:
            try allow(settings.routing.challenges.recorders, "the stages of challenges")
            let stage = try readDocument {
                try ChallengeStageRecord(json: message.payload, source: source, now: now())
            }
            return try record(stage, from: message.sender, asReceived: message.payload, db)
        case .meetingRecord:
            try allow(settings.routing.meetings.recorders, "meeting records")
            let meeting = try readDocument { try MeetingRecord(json: message.payload, source: source, now: now()) }
            return try record(meeting, from: message.sender, asReceived: message.payload, db)
        case .meetingListRequest:
            let request = try readDocument { try MeetingListRequest(json: message.payload, source: source) }
            try authorise(message, .sendMeetingLists, requestedBy: request.requestedBy)
            return try send(request, message, db)
        case .contentView:
            let view = try readDocument { try ContentView(json: message.payload, source: source) }
            try authorise(
                message, view.subject == .enquiry ? .viewEnquiries : .viewDeadLetters, requestedBy: view.requestedBy)
            try record(view, message, db)
            return []
        default:
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not taken on \(message.queue)")
        }
    }

    /// Why and under what basis a flow shares: what every record-of-sharing entry of one DAN or roll repeats.
    struct Sharing {
        var purpose: String
        var basis: LawfulBasis
        var categories: Set<DataCategory>
        /// The DAN's or the roll's id, in the ledger's enquiry column.
        var caseID: String
        var subjectRef: String
        /// Everyone the disclosure is about, as the ledger names them (`SubjectReference.list`).
        var subjects = ""
        /// Consent or override, justification, exemption (`Enquiry.grounds`), for the ledger.
        var grounds = ""
    }

    /// Seals `payload` to `party` and appends the disclosure to the record of sharing, in the caller's
    /// transaction. A party that is not a signatory gets nothing: the message that caused it is refused
    /// `notSignatory`, unless `toFormerRecipient` (a correction of what it already holds reaches it even after it
    /// has left the agreement).
    func disclose(
        _ payload: [UInt8], _ type: DocumentType, to party: String, exchange: String, routingKey: String,
        headers: [String: String], _ sharing: Sharing, _ db: any SQLDatabase, now: Date, toFormerRecipient: Bool = false
    ) throws -> OutboxMessage {
        if !toFormerRecipient, let refusal = notSignatory(party) {
            throw Refusal(reason: "notSignatory", detail: refusal)
        }
        let message = try sealed(
            payload, type: type, to: party, exchange: exchange, routingKey: routingKey, headers: headers)
        try RecordOfSharing.append(
            db, at: now, sender: settings.identity, recipient: party, purpose: sharing.purpose,
            lawfulBasis: sharing.basis, dataCategories: sharing.categories, messageID: message.messageID,
            enquiryID: sharing.caseID, subjectRef: sharing.subjectRef, subjects: sharing.subjects,
            grounds: sharing.grounds)
        return message
    }

    // MARK: references

    func childRef(forename: String, surname: String, born: LocalDate) -> String {
        register.childRef(forename: forename, surname: surname, born: born)
    }

    func upnRef(_ upn: String) -> String { keyring.pseudonym(of: "upn:" + upn) }

    private func childRef(_ person: Person) -> String? { register.childRef(person) }

    /// A DAN's pseudonym in the ledger: its first child found by name and date of birth, else the DAN itself.
    func subjectRef(of dan: DomesticAbuseNotification) -> String {
        dan.children.lazy.compactMap { self.childRef($0.person) }.first ?? keyring.pseudonym(of: "dan:" + dan.id)
    }

    /// Everyone a DAN names (children and adults), as the ledger names them.
    func subjects(of dan: DomesticAbuseNotification) -> String {
        SubjectReference.list(dan.children.map(\.person) + dan.adults, keyring: keyring)
    }

    /// The `notification` member of what a DAN causes: the DAN as the police sent it.
    static func notification(_ dan: DomesticAbuseNotification, asReceived: [UInt8]) -> Any {
        (try? JSONText.parse(asReceived)) ?? dan.jsonObject
    }

    var register: OpenCaseRegister { OpenCaseRegister(keyring: keyring) }

    func record(_ update: OpenCaseUpdate, _ db: any SQLDatabase) throws { try register.record(update, db, now: now()) }

    // MARK: DANs

    /// Routes a DAN: the Practice Manager (High), allocated social workers (open cases), the daily triage
    /// (the rest, on the Practice Manager's triage list as a `mash.dan-triage/1`), a copy to Probation, and an Encompass notice per school (or the LA officer). What goes on —
    /// Probation's copy, the `notification` inside a referral or contact — is the DAN as received (`asReceived`,
    /// the document's bytes), not a rewriting of what the hub read of it.
    func receive(_ dan: DomesticAbuseNotification, asReceived: [UInt8], _ db: any SQLDatabase) throws -> [OutboxMessage]
    {
        let notification = Self.notification(dan, asReceived: asReceived)
        let now = now()
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM dan WHERE id = ?"), arguments: [dan.id]) == true {
            logger.notice("DAN already received; ignored", metadata: ["dan": "\(dan.id)"])
            return []
        }
        let flows = settings.routing.notifications
        var openCases: [Int: OpenCase] = [:]
        for (index, child) in dan.children.enumerated() where !child.isUnborn {
            openCases[index] = try register.openCase(of: child.person, db)
        }
        let route = DANRoute.route(
            dan, openCases: openCases, receivedAt: now, triage: flows.triage, calendar: settings.calendar)
        let subjectRef = subjectRef(of: dan)
        let flags = route.flags.map(\.rawValue)
        var messages: [OutboxMessage] = []
        let sharing = Sharing(
            purpose: Self.danPurpose, basis: Self.danBasis, categories: [.personal, .criminalOffence], caseID: dan.id,
            subjectRef: subjectRef, subjects: subjects(of: dan))
        func send(
            _ payload: [UInt8], _ type: DocumentType, to party: String, exchange: String, routingKey: String,
            rag: String? = nil
        ) throws {
            var headers = ["x-mash-dan": dan.id]
            headers["x-mash-rag"] = rag
            messages.append(
                try disclose(
                    payload, type, to: party, exchange: exchange, routingKey: routingKey, headers: headers, sharing, db,
                    now: now))
        }

        if route.referral {
            let referral: [String: Any] = [
                "schema": DocumentType.danReferral.rawValue, "danID": dan.id, "rag": RAG.red.rawValue,
                "flags": flags, "receivedAt": Instant.format(now), "notification": notification,
            ]
            try send(
                DocumentWriter.encode(referral), .danReferral, to: settings.practiceManager,
                exchange: HubQueues.alertsExchange, routingKey: settings.practiceManager, rag: RAG.red.rawValue)
        }
        if let triageDate = route.triageDate {
            let item: [String: Any] = [
                "schema": DocumentType.danTriage.rawValue, "danID": dan.id, "triageDate": triageDate.description,
                "level": dan.assessment.effectiveLevel.rawValue, "assessedLevel": dan.assessment.level.rawValue,
                "flags": flags, "receivedAt": Instant.format(now), "notification": notification,
            ]
            try send(
                DocumentWriter.encode(item), .danTriage, to: settings.practiceManager,
                exchange: HubQueues.alertsExchange, routingKey: settings.practiceManager)
        }
        for contact in route.contacts {
            let document: [String: Any] = [
                "schema": DocumentType.significantContact.rawValue, "danID": dan.id, "child": contact.child,
                "socialWorker": contact.openCase.socialWorker, "team": contact.openCase.team, "flags": flags,
                "notification": notification,
            ]
            try send(
                DocumentWriter.encode(document), .significantContact, to: flows.socialCare,
                exchange: HubQueues.noticesExchange, routingKey: HubQueues.socialCareContacts)
        }
        try send(
            asReceived, .domesticAbuseNotification, to: flows.probation, exchange: HubQueues.noticesExchange,
            routingKey: HubQueues.probationSafeguarding)
        var encompassSharing = sharing
        encompassSharing.purpose = "Operation Encompass: the key adult knows before the next school day"
        let notices = try encompass(dan, encompassSharing, db, now: now)
        messages += notices

        try db.executeCached(
            sql: """
                INSERT INTO dan (id, received_at, received_date, level, effective_level, tool, referral, contacts,
                    triage_date, flags, children, notices, document, unborn)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                dan.id, now.timeIntervalSince1970, settings.calendar.localDate(of: now).description,
                dan.assessment.level.rawValue, dan.assessment.effectiveLevel.rawValue,
                "\(dan.assessment.tool) \(dan.assessment.toolVersion)", route.referral, route.contacts.count,
                route.triageDate?.description, flags.joined(separator: ","), dan.children.count, notices.count,
                Data(try sealForStore(asReceived, table: "dan", id: dan.id, scope: "dan:" + dan.id)),
                dan.children.contains { $0.unbornWeeks != nil },
            ])
        metrics.increment("mash_dans_total", [("level", dan.assessment.effectiveLevel.rawValue)])
        logger.info(
            "DAN routed",
            metadata: [
                "dan": "\(dan.id)", "level": "\(dan.assessment.effectiveLevel.rawValue)",
                "referral": "\(route.referral)", "contacts": "\(route.contacts.count)",
                "triage": "\(route.triageDate?.description ?? "-")", "notices": "\(notices.count)",
            ])
        return messages
    }

    // MARK: Operation Encompass

    /// One notice per school holding any of the children, with only its own, due before that school's next
    /// school day after the incident; children of school age on no roll go to the LA officer.
    private func encompass(_ dan: DomesticAbuseNotification, _ sharing: Sharing, _ db: any SQLDatabase, now: Date)
        throws
        -> [OutboxMessage]
    {
        var schools: [Int: [String]] = [:]
        for (index, child) in dan.children.enumerated() where !child.isUnborn {
            guard let ref = childRef(child.person) else { continue }
            var refs = [ref]
            if let upn = child.person.upn.flatMap({ Identifier.upn($0)?.upn }) { refs.append(upnRef(upn)) }
            let marks = refs.map { _ in "?" }.joined(separator: ",")
            schools[index] = try String.fetchAll(
                db,
                sql: "SELECT DISTINCT urn FROM roll_index WHERE child_ref IN (\(marks)) OR upn_ref IN (\(marks))",
                arguments: StatementArguments(refs + refs))
        }
        let flows = settings.routing.notifications
        var messages: [OutboxMessage] = []
        for recipient in EncompassPlan.recipients(
            for: dan, schools: schools, today: settings.calendar.localDate(of: dan.occurredAt))
        {
            // The LA officer's deadline is the MASH's next opening. A school without a configuration, or whose
            // configured terms have ended, gets its notice through the officer too (with a warning), so a
            // school calendar never holds up the rest of a DAN, least of all a High one's referral.
            let next = settings.calendar.nextWorkingDay(after: settings.calendar.localDate(of: dan.occurredAt))
            var party = flows.laOfficer
            var routingKey = HubQueues.laOfficerNotices
            var due = settings.calendar.session(on: next)?.opens ?? now
            if let urn = recipient.urn {
                if let school = settings.schools[urn], let start = school.calendar.nextDayStart(after: dan.occurredAt) {
                    party = school.recipient
                    routingKey = school.noticeQueue
                    due = start
                } else {
                    logger.warning(
                        "school calendar missing or ended; notice sent to the LA officer",
                        metadata: ["dan": "\(dan.id)", "urn": "\(urn)"])
                }
            }
            let notice = EncompassNotice(
                id: UUID().uuidString.lowercased(), urn: recipient.urn, policeReference: dan.policeReference,
                occurredAt: dan.occurredAt, place: dan.place, circumstances: dan.circumstances,
                children: recipient.children.map { index in
                    let child = dan.children[index]
                    return EncompassNotice.Pupil(
                        forename: child.person.forename ?? "", surname: child.person.surname ?? "",
                        dateOfBirth: child.person.dateOfBirth!, present: child.present)
                }, dueBy: due)
            // A school's notice is about its own pupils only.
            var noticeSharing = sharing
            noticeSharing.subjects = SubjectReference.list(
                recipient.children.map { dan.children[$0].person }, keyring: keyring)
            let message = try disclose(
                notice.json, .encompassNotice, to: party, exchange: HubQueues.noticesExchange, routingKey: routingKey,
                headers: ["x-mash-dan": dan.id, "x-mash-notice": notice.id, "x-mash-due": Instant.format(due)],
                noticeSharing, db, now: now)
            try db.executeCached(
                sql: """
                    INSERT INTO encompass_notice (id, dan_id, recipient, urn, children, due, sent_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    notice.id, dan.id, party, recipient.urn, recipient.children.count, due.timeIntervalSince1970,
                    now.timeIntervalSince1970,
                ])
            try addTimer(db, .breach, clock: "encompass", at: due, enquiry: dan.id, request: notice.id)
            messages.append(message)
        }
        return messages
    }

    /// A receipt from the notice's own recipient stops its clock; anyone else's is refused.
    func acknowledge(_ receipt: EncompassAcknowledgement, from sender: String, _ db: any SQLDatabase) throws {
        guard
            let recipient = try String.fetchOne(
                db.cachedStatement(sql: "SELECT recipient FROM encompass_notice WHERE id = ?"),
                arguments: [receipt.noticeID])
        else {
            throw Refusal(reason: "unknownNotice", detail: "no Encompass notice \(receipt.noticeID)")
        }
        guard recipient == sender else {
            throw Refusal(
                reason: "senderNotAllowed", detail: "'\(sender)' may not acknowledge a notice sent to '\(recipient)'")
        }
        try db.executeCached(
            sql: "UPDATE encompass_notice SET acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL",
            arguments: [receipt.acknowledgedAt.timeIntervalSince1970, receipt.noticeID])
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE request_id = ? AND clock = 'encompass' AND fired_at IS NULL",
            arguments: [now().timeIntervalSince1970, receipt.noticeID])
    }

    /// An unacknowledged notice at its deadline: the Practice Manager is told which school has not confirmed.
    func escalateEncompass(notice id: String, danID: String, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage]
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT recipient, due, acknowledged_at FROM encompass_notice WHERE id = ?"),
                arguments: [id]),
            (row["acknowledged_at"] as Double?) == nil
        else { return [] }
        try db.executeCached(
            sql: "UPDATE encompass_notice SET escalated_at = ? WHERE id = ?",
            arguments: [now.timeIntervalSince1970, id])
        metrics.increment("mash_sla_breaches_total", [("clock", "encompass")])
        let alert = Notice(
            type: .slaAlert, enquiryID: danID, requestID: id, agency: row["recipient"], event: .breach,
            clock: "encompass",
            dueBy: Date(timeIntervalSince1970: row["due"]), reason: "Encompass notice not acknowledged", at: now)
        let message = try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange)
        return [message]
    }
}
