import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// The MASH's meetings (DESIGN.md flow 8): each sitting's list sent to the Practice Manager before it starts, and
/// the meeting's record: who attended, and per item what was agreed, which becomes the enquiry's decision, so the
/// agencies that answered are sent its outcome (`mash.outcome/1`) and update their own records.
extension Coordinator {
    static let meetingPurpose = "The MASH's meetings: the list and the record of what was agreed"

    /// The list of the next sitting of each meeting, sent once to the Practice Manager from `agendaLead` before it
    /// starts (a sitting whose list was sent is not sent again; nil sends none).
    func publishAgendas() async throws -> [OutboxMessage] {
        let now = now()
        let schedule = settings.routing.meetings.schedule
        let calendar = settings.calendar
        guard let lead = settings.agendaLead else { return [] }
        // The timer ticks five times a second; the calendar is looked at again only when a list can be due (or
        // the clock went back).
        if let check = agendaCheck.withLock({ $0 }), now >= check.at, now < check.next { return [] }
        let sittings = schedule.nextSittings(after: now, calendar: calendar)
        let next = MeetingSchedule.nextAgendaCheck(sittings, after: now, lead: lead)
        let due = sittings.filter { $0.at.timeIntervalSince(now) <= lead }
        guard !due.isEmpty else {
            agendaCheck.withLock { $0 = (now, next) }
            return []
        }
        let sent = try await outbox.write(now: self.now) { [self] db in
            var messages: [OutboxMessage] = []
            for sitting in due {
                try db.executeCached(
                    sql: "INSERT INTO meeting_agenda (id, sent_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    arguments: [sitting.id, now.timeIntervalSince1970])
                guard db.changesCount == 1 else { continue }
                let message = try agendaMessage(for: sitting, db)
                try outbox.enqueue(db, [message], now: now)
                messages.append(message)
            }
            return messages
        }
        // Only once they are committed: a failed write is tried again at the next tick.
        agendaCheck.withLock { $0 = (now, next) }
        return sent
    }

    /// A member of staff's request for the next sitting's list now: sent (again, if it went already), and the
    /// request recorded as their action.
    func send(_ request: MeetingListRequest, _ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage]
    {
        let now = now()
        try refuseIfExpired(request.expiresAt, now: now, "the request for a meeting's list", "nothing was sent")
        let schedule = settings.routing.meetings.schedule
        let sitting: MeetingSchedule.Sitting
        if let id = request.meetingID {
            guard let named = schedule.sitting(id: id, calendar: settings.calendar), named.kind == request.kind else {
                throw Refusal(reason: "unknownMeeting", detail: "no \(request.kind.rawValue) meeting \(id) is held")
            }
            sitting = named
        } else {
            sitting = schedule.nextSitting(request.kind, after: now, calendar: settings.calendar)
        }
        try db.executeCached(
            sql: """
                INSERT INTO meeting_agenda (id, sent_at) VALUES (?, ?)
                ON CONFLICT (id) DO UPDATE SET sent_at = excluded.sent_at
                """, arguments: [sitting.id, now.timeIntervalSince1970])
        let list = try agendaMessage(for: sitting, db)
        try recordAction(
            .meetingList, message, by: request.requestedBy, summary: "the list of \(sitting.id) sent", db, now: now)
        return [list]
    }

    private func agendaMessage(for sitting: MeetingSchedule.Sitting, _ db: any SQLDatabase) throws -> OutboxMessage {
        metrics.increment("mash_meeting_agendas_total", [("kind", sitting.kind.rawValue)])
        return try sealed(
            DocumentWriter.encode(try agenda(for: sitting, db)), type: .meetingAgenda, to: settings.practiceManager,
            exchange: HubQueues.alertsExchange, routingKey: settings.practiceManager,
            headers: ["x-mash-meeting": sitting.id, "x-mash-due": Instant.format(sitting.at)])
    }

    /// `mash.meeting-agenda/1`: a sitting's list, ids and codes with each enquiry's reference.
    private func agenda(for sitting: MeetingSchedule.Sitting, _ db: any SQLDatabase) throws
        -> [String: Any]
    {
        var document: [String: Any] = [
            "schema": DocumentType.meetingAgenda.rawValue, "meetingID": sitting.id, "kind": sitting.kind.rawValue,
            "at": Instant.format(sitting.at), "reviewsFrom": Instant.format(sitting.reviewsFrom),
            "reviewsUntil": Instant.format(sitting.reviewsUntil),
        ]
        switch sitting.kind {
        case .mash:
            let agenda = MeetingAgenda.mash(sitting, enquiries: try HubReadModel.agendaEnquiries(in: db))
            document["invited"] = agenda.invited
            document["items"] = try agenda.items.map { item in
                [
                    "enquiryID": item.enquiryID, "reference": try storedEnquiry(item.enquiryID, db).reference,
                    "rag": item.rag.rawValue, "due": Instant.format(item.due), "why": item.why.rawValue,
                    "invited": item.invited,
                ] as [String: Any]
            }
        case .spaHuddle, .mashHuddle, .midwifery:
            let arrivals = Arrival.list(
                for: sitting,
                try HubReadModel.arrivals(
                    from: sitting.reviewsFrom, until: sitting.reviewsUntil, calendar: settings.calendar, in: db))
            document["arrivals"] = arrivals.map {
                ["kind": $0.kind.rawValue, "id": $0.id, "at": Instant.format($0.at), "outOfHours": $0.outOfHours]
                    as [String: Any]
            }
        }
        return document
    }

    /// A meeting's record from the Practice Manager: kept once per sitting; each item with its answers in becomes
    /// the enquiry's decision (the referrer and the agencies that answered are sent the outcome); an item already
    /// decided is recorded as the meeting's view and sends nothing; an item still waiting for answers refuses the
    /// whole record.
    func record(_ meeting: MeetingRecord, from party: String, asReceived: [UInt8], _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let schedule = settings.routing.meetings.schedule
        guard let sitting = schedule.sitting(id: meeting.meetingID, calendar: settings.calendar) else {
            throw Refusal(
                reason: "unknownMeeting", detail: "no meeting \(meeting.meetingID) is held by the MASH's calendar")
        }
        guard sitting.at <= now() else {
            throw Refusal(
                reason: "notYetHeld", detail: "meeting \(meeting.meetingID) starts at \(Instant.format(sitting.at))")
        }
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM meeting WHERE id = ?"), arguments: [meeting.meetingID]) == true
        {
            throw Refusal(reason: "alreadyRecorded", detail: "meeting \(meeting.meetingID) was recorded already")
        }
        let now = now()
        try db.executeCached(
            sql: """
                INSERT INTO meeting (id, kind, held_at, recorded_by, staff, attendees, agencies, received_at, document)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                meeting.meetingID, sitting.kind.rawValue, meeting.heldAt.timeIntervalSince1970, party,
                meeting.recordedBy, meeting.attendees.map(\.staffID).joined(separator: ","),
                meeting.agencies.joined(separator: ","), now.timeIntervalSince1970,
                Data(
                    try sealForStore(
                        asReceived, table: "meeting", id: meeting.meetingID, scope: "meeting:" + meeting.meetingID)),
            ])
        var messages: [OutboxMessage] = []
        for item in meeting.items {
            guard
                let status = try String.fetchOne(
                    db.cachedStatement(sql: "SELECT status FROM enquiry WHERE id = ?"), arguments: [item.enquiryID])
            else { throw Refusal(reason: "unknownEnquiry", detail: "no enquiry \(item.enquiryID)") }
            try db.executeCached(
                sql: "INSERT INTO meeting_item (meeting_id, enquiry_id, agreed) VALUES (?, ?, ?)",
                arguments: [meeting.meetingID, item.enquiryID, item.agreed.rawValue])
            if status == EnquiryStatus.decided.rawValue { continue }
            let decision = Decision(
                enquiryID: item.enquiryID, outcome: item.agreed, rationale: item.note, decidedBy: meeting.recordedBy,
                decidedAt: meeting.heldAt)
            messages += try record(decision, messageID: "\(meeting.meetingID):\(item.enquiryID)", db)
        }
        metrics.increment("mash_meetings_total", [("kind", sitting.kind.rawValue)])
        logger.info(
            "meeting recorded",
            metadata: [
                "meeting": "\(meeting.meetingID)", "attendees": "\(meeting.attendees.count)",
                "items": "\(meeting.items.count)",
            ])
        return messages
    }
}
