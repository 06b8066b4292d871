import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHReadModel
import MASHRuntime
import MASHService

/// What operators change, asked as messages so the store and its ledger keep one writer: each request is
/// carried out and recorded (`operator_action`, which `mashctl` reads back) in the same transaction.
extension Coordinator {
    /// An operator request is carried out only for a member of `Config/staff.yaml`, signed with their own key
    /// (the sealed message's signer is `message.sender`), naming themselves, and holding a role with
    /// `permission`. A party's key (even the operator broker user's) is not a person and is refused.
    func authorise(_ message: InboundMessage, _ permission: StaffPermission, requestedBy: String) throws {
        guard let member = settings.staff[message.sender] else {
            throw Refusal(
                reason: "notStaff",
                detail: "'\(message.sender)' is not in staff.yaml: a request to \(permission.rawValue) must be signed "
                    + "by a staff member's own key")
        }
        guard requestedBy == member.id else {
            throw Refusal(
                reason: "notSigner",
                detail: "the request names '\(requestedBy)' but is signed by '\(member.id)'; staff act as themselves")
        }
        guard member.may(permission) else {
            let roles = member.roles.sorted().map { $0.rawValue }.joined(separator: ", ")
            throw Refusal(
                reason: "roleNotAllowed",
                detail: "'\(member.id)' (\(roles.isEmpty ? "no role" : roles)) may not \(permission.rawValue); "
                    + "that needs \(permission.roles.map { $0.rawValue }.joined(separator: " or "))")
        }
    }

    /// Records that a staff member is about to see content, before `mashctl` shows it.
    func record(_ view: ContentView, _ message: InboundMessage, _ db: any SQLDatabase) throws {
        let now = now()
        try refuseIfExpired(view.expiresAt, now: now, "the view request", "mashctl showed nothing")
        try recordAction(
            .contentView, message, by: view.requestedBy,
            summary: "\(view.subject.rawValue) \(view.reference): \(view.reason)", db, now: now)
        logger.notice(
            "content view recorded", metadata: ["operator": "\(view.requestedBy)", "what": "\(view.subject.rawValue)"])
    }

    /// Records a dead-letter replay in the record of sharing before `mashctl` sends anything.
    func record(_ replay: DeadLetterReplay, _ message: InboundMessage, _ db: any SQLDatabase) throws {
        let now = now()
        try refuseIfExpired(replay.expiresAt, now: now, "the replay request", "mashctl replayed nothing")
        try RecordOfSharing.recordReplay(replay, db)
        let count = replay.messages.count
        try recordAction(
            .deadLetterReplay, message, by: replay.replayedBy,
            summary: "\(count) message\(count == 1 ? "" : "s") to \(replay.queue): \(replay.reason)", db, now: now)
        logger.notice(
            "dead-letter replay recorded",
            metadata: ["operator": "\(replay.replayedBy)", "queue": "\(replay.queue)", "messages": "\(count)"])
    }

    /// Records a subject access search (who, why, how many references) before `mashctl` shows its result: a
    /// view of who received a person's data is itself a view of personal data.
    func record(_ access: SubjectAccess, _ message: InboundMessage, _ db: any SQLDatabase) throws {
        let now = now()
        let request = access.request
        try refuseIfExpired(request.expiresAt, now: now, "the subject access request", "mashctl showed nothing")
        try recordAction(
            .subjectAccess, message, by: request.requestedBy,
            summary: "disclosures about one person (\(request.references.count) references): \(request.reason)", db,
            now: now)
        logger.notice("subject access recorded", metadata: ["operator": "\(request.requestedBy)"])
    }

    /// Restricts processing of one person's data, or lifts the restriction: while it stands, an enquiry about
    /// them is refused before anything is sent.
    /// Every earlier recipient is told (`mash.correction/1`).
    func record(_ restriction: SubjectRestriction, _ message: InboundMessage, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let now = now()
        let request = restriction.request
        try refuseIfExpired(request.expiresAt, now: now, "the restriction request", "nothing changed")
        for ref in request.references {
            switch restriction.action {
            case .restrict:
                try db.execute(
                    sql: """
                        INSERT INTO restriction (ref, since, requested_by, reason) VALUES (?, ?, ?, ?)
                        ON CONFLICT (ref) DO NOTHING
                        """,
                    arguments: [ref, now.timeIntervalSince1970, request.requestedBy, request.reason])
            case .lift:
                try db.execute(sql: "DELETE FROM restriction WHERE ref = ?", arguments: [ref])
            }
        }
        let messages = try openCorrection(
            CorrectionRequest(
                id: message.messageID, action: restriction.action == .restrict ? .restrict : .lift,
                requestedBy: request.requestedBy, reason: request.reason, references: request.references,
                person: restriction.person), db, now: now)
        try recordAction(
            .subjectRestriction, message, by: request.requestedBy,
            summary: "\(restriction.action.rawValue) one person (\(request.references.count) references), "
                + "\(messages.count) recipient\(messages.count == 1 ? "" : "s") told: \(request.reason)", db, now: now)
        logger.notice(
            "restriction recorded",
            metadata: ["operator": "\(request.requestedBy)", "action": "\(restriction.action.rawValue)"])
        return messages
    }

    /// Whether processing of `person`'s data is restricted.
    func isRestricted(_ person: Person, _ db: any SQLDatabase) throws -> Bool {
        let refs = SubjectReference.references(
            forename: person.forename, surname: person.surname, dateOfBirth: person.dateOfBirth,
            nhsNumber: person.nhsNumber, keyring: keyring)
        guard !refs.isEmpty else { return false }
        return try Bool.fetchOne(
            db, sql: "SELECT 1 FROM restriction WHERE ref IN (\(refs.map { _ in "?" }.joined(separator: ",")))",
            arguments: StatementArguments(refs)) ?? false
    }

    /// Applies a CSC open-case export whole.
    func record(_ register: OpenCaseRegisterImport, _ message: InboundMessage, _ db: any SQLDatabase) throws {
        for update in register.cases { try record(update, db) }
        let opened = register.cases.filter(\.open).count
        try recordAction(
            .openCaseImport, message, by: register.importedBy,
            summary: "\(opened) open, \(register.cases.count - opened) closed", db, now: now())
        logger.notice(
            "open-case register imported",
            metadata: ["operator": "\(register.importedBy)", "cases": "\(register.cases.count)"])
    }

    /// An operator request read after `expiresAt` is refused (`expired`): `mashctl` has stopped waiting for it.
    func refuseIfExpired(_ expiresAt: Date, now: Date, _ what: String, _ consequence: String) throws {
        guard expiresAt > now else {
            throw Refusal(
                reason: "expired",
                detail: "\(what) expired at \(Instant.format(expiresAt)) before it was read; \(consequence) and "
                    + "nothing is recorded")
        }
    }

    func recordAction(
        _ kind: OperatorAction.Kind, _ message: InboundMessage, by operatorName: String, summary: String,
        _ db: any SQLDatabase, now: Date
    ) throws {
        try db.executeCached(
            sql: """
                INSERT INTO operator_action (message_id, kind, sender, operator, at, summary) VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                message.messageID, kind.rawValue, message.sender, operatorName, now.timeIntervalSince1970, summary,
            ])
    }
}
