import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// Challenges to a MASH decision (DESIGN.md flow 8, the protocol's "Dispute resolution and escalation"): a party
/// to the enquiry challenges its decision in writing; the challenge goes to the First Response Area Manager; each
/// stage it reaches is recorded, told to the party that raised it, and has a clock in working days that alerts
/// the Area Manager once when it runs out.
extension Coordinator {
    static let challengeClock = "challenge"
    static let challengePurpose = "A challenge to a MASH decision (the MASH protocol's dispute resolution)"

    private func challengeSharing(enquiry: Row, challengeID: String) -> Sharing {
        Sharing(
            purpose: Self.challengePurpose, basis: Self.contactBasis, categories: [.personal, .specialCategory],
            caseID: enquiry["id"], subjectRef: enquiry["subject_ref"], subjects: enquiry["subjects"])
    }

    /// Who took part in the enquiry and so may challenge its decision: the agencies that answered, the party that
    /// opened it, the portal whose contact it came from, and the staff desks of `challenges.staff`.
    private func parties(of enquiryID: String, sender: String, _ db: any SQLDatabase) throws -> Set<String> {
        let answered = try String.fetchAll(
            db.cachedStatement(sql: "SELECT agency FROM request WHERE enquiry_id = ? AND status = ?"),
            arguments: [enquiryID, RequestStatus.answered.rawValue])
        let portals = try String.fetchAll(
            db.cachedStatement(sql: "SELECT portal FROM contact WHERE enquiry_id = ?"), arguments: [enquiryID])
        return Set(answered + portals + [sender]).union(settings.routing.challenges.staff)
    }

    /// A challenge from a party to a decided enquiry: kept (sealed), sent to the Area Manager, its first clock
    /// started, and the party told it was raised. An id seen before is ignored.
    func receive(_ challenge: Challenge, from party: String, asReceived: [UInt8], _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM challenge WHERE id = ?"), arguments: [challenge.id]) == true
        {
            return []
        }
        var challenge = challenge
        var asReceived = asReceived
        if let contactID = challenge.contactID {
            challenge.enquiryID = try enquiry(ofContact: contactID, challenge, from: party, db)
            // The Area Manager is sent the challenge with the enquiry it is about filled in.
            asReceived = challenge.json
        }
        guard
            let enquiry = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, status, sender, subject_ref, subjects FROM enquiry WHERE id = ?"),
                arguments: [challenge.enquiryID])
        else { throw Refusal(reason: "unknownEnquiry", detail: "no enquiry \(challenge.enquiryID)") }
        guard enquiry["status"] == EnquiryStatus.decided.rawValue else {
            throw Refusal(
                reason: "notDecided",
                detail:
                    "enquiry \(challenge.enquiryID) has no decision to challenge (it is \(enquiry["status"] as String))"
            )
        }
        guard try parties(of: challenge.enquiryID, sender: enquiry["sender"], db).contains(party) else {
            throw Refusal(
                reason: "notAParty",
                detail: "\(party) took no part in enquiry \(challenge.enquiryID): only the agencies that answered, "
                    + "the referrer and the MASH's staff may challenge its decision")
        }
        let now = now()
        let routing = settings.routing.challenges
        let due = routing.limits.due(of: .raised, from: now, calendar: settings.calendar)
        try db.executeCached(
            sql: """
                INSERT INTO challenge (id, enquiry_id, raised_by, raiser_staff, raised_at, received_at, stage,
                    stage_due, document)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                challenge.id, challenge.enquiryID, party, challenge.raisedBy.staffID,
                challenge.raisedAt.timeIntervalSince1970, now.timeIntervalSince1970, ChallengeStage.raised.rawValue,
                due.timeIntervalSince1970,
                Data(try sealForStore(asReceived, table: "challenge", id: challenge.id, scope: scope(challenge.id))),
            ])
        try addTimer(db, .breach, clock: Self.challengeClock, at: due, enquiry: challenge.id, request: nil)
        metrics.increment("mash_challenges_total", [("party", party)])
        let sharing = challengeSharing(enquiry: enquiry, challengeID: challenge.id)
        try RecordOfSharing.append(
            db, at: now, sender: party, recipient: settings.identity, purpose: sharing.purpose,
            lawfulBasis: sharing.basis, dataCategories: sharing.categories, messageID: challenge.id,
            enquiryID: challenge.enquiryID, subjectRef: sharing.subjectRef, subjects: sharing.subjects)
        let raised = ChallengeStageRecord(
            id: UUID().uuidString.lowercased(), challengeID: challenge.id, stage: .raised,
            note: "Your challenge was received and sent to the First Response Area Manager.",
            recordedBy: settings.identity, at: now)
        try store(raised, from: settings.identity, db)
        return [
            try disclose(
                asReceived, .challenge, to: routing.areaManager, exchange: HubQueues.alertsExchange,
                routingKey: routing.areaManager, headers: headers(challenge.id, challenge.enquiryID, due: due),
                sharing, db, now: now),
            try tell(party, raised, enquiryID: challenge.enquiryID, due: due, sharing, db, now: now),
        ]
    }

    /// The enquiry a professional's contact became, for a challenge to its outcome: only the professional who made
    /// the contact, through the portal it came from, may challenge it, and only a MASH enquiry's decision.
    private func enquiry(
        ofContact contactID: String, _ challenge: Challenge, from party: String, _ db: any SQLDatabase
    ) throws -> String {
        guard
            let contact = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT portal, referrer, enquiry_id, decision FROM contact WHERE id = ?"),
                arguments: [contactID])
        else { throw Refusal(reason: "unknownContact", detail: "no contact \(contactID)") }
        guard contact["portal"] == party, contact["referrer"] == challenge.raisedBy.staffID else {
            throw Refusal(
                reason: "notAParty",
                detail: "only the professional who made contact \(contactID), through its portal, may challenge its "
                    + "outcome")
        }
        guard let enquiryID: String = contact["enquiry_id"] else {
            let decision = (contact["decision"] as String?).map { "screened (\($0))" } ?? "not screened yet"
            throw Refusal(
                reason: "notDecided",
                detail: "contact \(contactID) is \(decision), not a MASH enquiry decided: the SPA & MASH Practice "
                    + "Manager reviews a screening decision the professional disagrees with")
        }
        guard challenge.enquiryID.isEmpty || challenge.enquiryID == enquiryID else {
            throw Refusal(
                reason: "contactMismatch",
                detail: "contact \(contactID) became enquiry \(enquiryID), not \(challenge.enquiryID)")
        }
        return enquiryID
    }

    /// A stage of a challenge, recorded by the Area Manager (or the Practice Manager): the challenge moves on (never
    /// back), the last clock stops and the stage's starts (none once resolved), and the party that raised it and
    /// the Area Manager are told.
    func record(_ record: ChallengeStageRecord, from party: String, asReceived: [UInt8], _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        if try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM challenge_stage WHERE id = ?"), arguments: [record.id]) == true
        {
            return []
        }
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT c.stage, c.stage_due, c.raised_by, c.enquiry_id, e.id, e.subject_ref, e.subjects
                        FROM challenge c JOIN enquiry e ON e.id = c.enquiry_id WHERE c.id = ?
                        """), arguments: [record.challengeID])
        else { throw Refusal(reason: "unknownChallenge", detail: "no challenge \(record.challengeID)") }
        guard let stage = ChallengeStage(rawValue: row["stage"]) else {
            throw CorruptStore(
                detail: "challenge \(record.challengeID) has the unknown stage '\(row["stage"] as String)'")
        }
        var process = ChallengeProcess(
            stage: stage, due: (row["stage_due"] as Double?).map(Date.init(timeIntervalSince1970:)))
        let routing = settings.routing.challenges
        let effects: [ChallengeProcess.Effect]
        do {
            effects = try process.apply(record, limits: routing.limits, calendar: settings.calendar)
        } catch let refused as ChallengeProcess.Refused {
            throw Refusal(reason: refused.reason, detail: "challenge \(record.challengeID): \(refused.description)")
        }
        let now = now()
        try db.executeCached(
            sql: "UPDATE challenge SET stage = ?, stage_due = ?, resolved_at = ? WHERE id = ?",
            arguments: [
                process.stage.rawValue, process.due?.timeIntervalSince1970,
                process.stage == .resolved ? now.timeIntervalSince1970 : nil, record.challengeID,
            ])
        try store(record, from: party, asReceived: asReceived, db)
        let enquiryID: String = row["enquiry_id"]
        let sharing = challengeSharing(enquiry: row, challengeID: record.challengeID)
        var messages: [OutboxMessage] = []
        for effect in effects {
            switch effect {
            case .stopClock, .startClock:
                try db.executeCached(
                    sql: "UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND clock = ? AND fired_at IS NULL",
                    arguments: [now.timeIntervalSince1970, record.challengeID, Self.challengeClock])
                if case .startClock(let due) = effect {
                    try addTimer(
                        db, .breach, clock: Self.challengeClock, at: due, enquiry: record.challengeID, request: nil)
                }
            case .tellRaiser:
                messages.append(
                    try tell(row["raised_by"], record, enquiryID: enquiryID, due: process.due, sharing, db, now: now))
                // The Area Manager's desk keeps the challenge's whole timeline, its own stages included.
                do {
                    messages.append(
                        try disclose(
                            record.json, .challengeStage, to: routing.areaManager, exchange: HubQueues.alertsExchange,
                            routingKey: routing.areaManager,
                            headers: headers(record.challengeID, enquiryID, due: process.due), sharing, db, now: now))
                }
            }
        }
        metrics.increment("mash_challenge_stages_total", [("stage", record.stage.rawValue)])
        return messages
    }

    /// A stage's clock ran out with the challenge still at that stage: the Area Manager is alerted, once.
    func escalateChallenge(_ id: String, due: Date, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage] {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT stage, stage_due FROM challenge WHERE id = ?"), arguments: [id]),
            let stageDue = row["stage_due"] as Double?, abs(stageDue - due.timeIntervalSince1970) < 1,
            let stage = ChallengeStage(rawValue: row["stage"]), stage != .resolved
        else { return [] }
        metrics.increment("mash_sla_breaches_total", [("clock", Self.challengeClock)])
        let alert = Notice(
            type: .slaAlert, enquiryID: id, event: .breach, clock: Self.challengeClock, dueBy: due,
            reason: "A challenge to a MASH decision has been \(stage.words) longer than its stage allows", at: now)
        return [
            try notice(alert, to: settings.routing.challenges.areaManager, exchange: HubQueues.alertsExchange)
        ]
    }

    private func scope(_ challengeID: String) -> String { "challenge:" + challengeID }

    private func headers(_ challengeID: String, _ enquiryID: String, due: Date?) -> [String: String] {
        var headers = ["x-mash-challenge": challengeID, "x-mash-enquiry": enquiryID]
        headers["x-mash-due"] = due.map(Instant.format)
        return headers
    }

    /// Keeps a stage's record (sealed under the challenge's key).
    private func store(
        _ record: ChallengeStageRecord, from party: String, asReceived: [UInt8]? = nil, _ db: any SQLDatabase
    ) throws {
        try db.executeCached(
            sql: """
                INSERT INTO challenge_stage (id, challenge_id, stage, recorded_by, staff, at, document)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                record.id, record.challengeID, record.stage.rawValue, party, record.recordedBy,
                record.at.timeIntervalSince1970,
                Data(
                    try sealForStore(
                        asReceived ?? record.json, table: "challenge_stage", id: record.id,
                        scope: scope(record.challengeID))),
            ])
    }

    /// Sends a stage to the party that raised the challenge, on the queue it receives the case's messages on.
    private func tell(
        _ party: String, _ record: ChallengeStageRecord, enquiryID: String, due: Date?, _ sharing: Sharing,
        _ db: any SQLDatabase, now: Date
    ) throws -> OutboxMessage {
        let destination = try destination(of: party, forCase: enquiryID, db)
        return try disclose(
            record.json, .challengeStage, to: party, exchange: destination.exchange,
            routingKey: destination.routingKey, headers: headers(record.challengeID, enquiryID, due: due), sharing, db,
            now: now)
    }
}
