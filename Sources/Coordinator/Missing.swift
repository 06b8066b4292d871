import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// Missing from home and care (DESIGN.md flow 6): the police's missing and found reports routed to the daily
/// review, the allocated social worker, the Practice Manager (high risk) and the placing authority; the
/// return-interview clock from `foundAt`; the placing authority asked for its interview and chased.
extension Coordinator {
    static let missingBasis = LawfulBasis(article6: .publicTask, article10: .safeguardingChildren)
    static let missingPurpose =
        "Missing from home or care: safeguarding the child and the return interview (Children Act 1989 s17, s47; DfE 2014)"

    /// The clock's name in the timer table and in alerts.
    static let returnInterviewClock = "return-interview"
    static let authorityChaseClock = "authority-interview"

    /// The stored episode, as the state machine sees it.
    private func episode(_ id: String, _ db: any SQLDatabase) throws -> MissingEpisode? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT state, reported, found_at, placing_authority, open_case FROM missing_episode WHERE id = ?"
                ),
                arguments: [id])
        else { return nil }
        guard let state = MissingEpisode.State(rawValue: row["state"]) else {
            throw CorruptStore(detail: "missing episode \(id) has the unknown state '\(row["state"] as String)'")
        }
        return MissingEpisode(
            state: state, reported: row["reported"],
            foundAt: (row["found_at"] as Double?).map { Date(timeIntervalSince1970: $0) },
            placingAuthority: row["placing_authority"], openCase: row["open_case"])
    }

    private func sealEpisodeDocument(_ bytes: [UInt8], column: String, episode id: String) throws -> Data {
        Data(try sealForStore(bytes, table: "missing_episode.\(column)", id: id, scope: "missing:" + id))
    }

    private func openEpisodeDocument(_ sealed: Data, column: String, episode id: String) throws -> [UInt8] {
        try openFromStore(Array(sealed), table: "missing_episode.\(column)", id: id, scope: "missing:" + id)
    }

    /// A missing report from the police: a new episode, or the child's identity for a found report that came
    /// first.
    func receive(_ report: MissingReport, asReceived: [UInt8], _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let now = now()
        let existing = try episode(report.episodeID, db)
        let openCase = try register.openCase(of: report.child, db)
        let routing = settings.routing.missing
        // The police's word, else the register's: a looked-after child placed here by another authority.
        let (authority, authorityProblem) = reachable(report.placingAuthority ?? openCase?.placingAuthority)
        let (episode, effects) = MissingEpisode.missing(
            report, existing: existing, openCase: openCase != nil, placingAuthority: authority,
            interviewWithin: routing.interviewWithin)
        if case .ignore(let why)? = effects.first {
            logger.notice(
                "missing report already received; ignored",
                metadata: ["episode": "\(report.episodeID)", "why": "\(why)"])
            return []
        }
        let childRef = register.childRef(report.child) ?? ""
        let subjects = SubjectReference.list([report.child], keyring: keyring)
        let sealed = try sealEpisodeDocument(asReceived, column: "missing_report", episode: report.episodeID)
        if existing == nil {
            try db.executeCached(
                sql: """
                    INSERT INTO missing_episode (id, state, reported, child_ref, subjects, risk, missing_from,
                        exploitation, placing_authority, open_case, reported_at, received_at, missing_report)
                    VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    report.episodeID, episode.state.rawValue, childRef, subjects, report.risk.rawValue,
                    report.missingFrom.rawValue, report.exploitation.map(\.rawValue).joined(separator: ","), authority,
                    openCase != nil, report.reportedAt.timeIntervalSince1970, now.timeIntervalSince1970, sealed,
                ])
        } else {
            try db.executeCached(
                sql: """
                    UPDATE missing_episode SET reported = 1, child_ref = ?, subjects = ?, risk = ?, missing_from = ?,
                        exploitation = ?, placing_authority = ?, open_case = ?, reported_at = ?, missing_report = ?
                    WHERE id = ?
                    """,
                arguments: [
                    childRef, subjects, report.risk.rawValue, report.missingFrom.rawValue,
                    report.exploitation.map(\.rawValue).joined(separator: ","), authority, openCase != nil,
                    report.reportedAt.timeIntervalSince1970, sealed, report.episodeID,
                ])
        }
        metrics.increment("mash_missing_reports_total", [("report", "missing"), ("risk", report.risk.rawValue)])
        var messages = try carryOut(
            effects, episode: report.episodeID, subjects: subjects, subjectRef: childRef, openCase: openCase,
            db, now: now)
        if let authorityProblem {
            messages.append(try authorityAlert(report.episodeID, problem: authorityProblem, now: now))
        }
        logger.info(
            "missing report routed",
            metadata: [
                "episode": "\(report.episodeID)", "risk": "\(report.risk.rawValue)", "openCase": "\(openCase != nil)",
                "authority": "\(authority ?? "-")", "messages": "\(messages.count)",
            ])
        return messages
    }

    /// A found report: the clock starts from `foundAt`, and the report goes where its missing report went.
    func receive(_ report: FoundReport, asReceived: [UInt8], _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let now = now()
        let existing = try episode(report.episodeID, db)
        let (episode, effects) = MissingEpisode.found(
            report, existing: existing, interviewWithin: settings.routing.missing.interviewWithin)
        if case .ignore(let why)? = effects.first {
            logger.notice(
                "found report already received; ignored", metadata: ["episode": "\(report.episodeID)", "why": "\(why)"])
            return []
        }
        let sealed = try sealEpisodeDocument(asReceived, column: "found_report", episode: report.episodeID)
        if existing == nil {
            // Ahead of its missing report: kept, and the clock runs; the child is named when the police's
            // missing report comes.
            try db.executeCached(
                sql: """
                    INSERT INTO missing_episode (id, state, reported, received_at, found_at, found_report)
                    VALUES (?, ?, 0, ?, ?, ?)
                    """,
                arguments: [
                    report.episodeID, episode.state.rawValue, now.timeIntervalSince1970,
                    report.foundAt.timeIntervalSince1970, sealed,
                ])
        } else {
            try db.executeCached(
                sql: "UPDATE missing_episode SET state = ?, found_at = ?, found_report = ? WHERE id = ?",
                arguments: [episode.state.rawValue, report.foundAt.timeIntervalSince1970, sealed, report.episodeID])
        }
        metrics.increment("mash_missing_reports_total", [("report", "found"), ("risk", "")])
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT subjects, child_ref, open_case FROM missing_episode WHERE id = ?"),
            arguments: [report.episodeID])
        let subjects: String = row?["subjects"] ?? ""
        let openCase = try storedOpenCase(report.episodeID, db)
        return try carryOut(
            effects, episode: report.episodeID, subjects: subjects, subjectRef: row?["child_ref"] ?? "",
            openCase: openCase, db, now: now)
    }

    /// A return interview (or its offer), from the co-ordinator's desk or the episode's placing authority.
    func record(_ interview: ReturnInterview, asReceived: [UInt8], from sender: String, _ db: any SQLDatabase) throws
        -> [OutboxMessage]
    {
        let now = now()
        let existing = try episode(interview.episodeID, db)
        let result = MissingEpisode.interview(
            interview, existing: existing, from: sender, coordinator: settings.routing.missing.coordinator)
        let (episode, effects): (MissingEpisode, [MissingEpisode.Effect])
        switch result {
        case .failure(let refusal): throw Refusal(reason: refusal.reason, detail: refusal.detail)
        case .success(let outcome): (episode, effects) = outcome
        }
        let flags = Set(
            (try String.fetchOne(
                db.cachedStatement(sql: "SELECT exploitation FROM missing_episode WHERE id = ?"),
                arguments: [interview.episodeID]) ?? "").split(separator: ",").map(String.init)
                + interview.exploitation.map(\.rawValue)
        ).sorted().joined(separator: ",")
        try db.executeCached(
            sql: """
                UPDATE missing_episode SET state = ?, offered_at = coalesce(offered_at, ?), held_at = ?,
                    interview_response = ?, interview_by = ?, independent = ?, exploitation = ?, interview = ?,
                    concluded_at = CASE WHEN ? THEN coalesce(concluded_at, ?) ELSE concluded_at END
                WHERE id = ?
                """,
            arguments: [
                episode.state.rawValue, interview.offeredAt.timeIntervalSince1970,
                interview.heldAt?.timeIntervalSince1970, interview.response.rawValue, sender, interview.independent,
                flags, try sealEpisodeDocument(asReceived, column: "interview", episode: interview.episodeID),
                interview.concludes, now.timeIntervalSince1970, interview.episodeID,
            ])
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT subjects, child_ref FROM missing_episode WHERE id = ?"),
            arguments: [interview.episodeID])
        if interview.concludes {
            metrics.increment("mash_return_interviews_total", [("response", interview.response.rawValue)])
        }
        return try carryOut(
            effects, episode: interview.episodeID, subjects: row?["subjects"] ?? "",
            subjectRef: row?["child_ref"] ?? "",
            openCase: nil, db, now: now)
    }

    /// The allocation of an episode's child, if open to CSC: read again from the register, as a DAN's is.
    private func storedOpenCase(_ id: String, _ db: any SQLDatabase) throws -> OpenCase? {
        guard
            let sealed = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT missing_report FROM missing_episode WHERE id = ?"), arguments: [id])
        else { return nil }
        let bytes = try openEpisodeDocument(sealed, column: "missing_report", episode: id)
        let report = try MissingReport(json: bytes, source: "missing episode \(id)", now: .distantFuture)
        return try register.openCase(of: report.child, db)
    }

    /// The authority a report names if the hub can reach it, else nil and why not (not configured, or not a
    /// signatory): everything else about the child still goes, and the co-ordinator is told.
    private func reachable(_ authority: String?) -> (String?, String?) {
        guard let authority else { return (nil, nil) }
        guard settings.routing.missing.authorities.contains(authority) else {
            return (nil, "\(authority) is not an authority in routing.yaml (missing.authorities): it was sent nothing")
        }
        if let refusal = notSignatory(authority) { return (nil, "\(refusal): it was sent nothing") }
        return (authority, nil)
    }

    private func authorityAlert(_ episode: String, problem: String, now: Date) throws -> OutboxMessage {
        let alert = Notice(
            type: .slaAlert, enquiryID: episode, event: .breach, clock: "placing-authority", reason: problem, at: now)
        return try notice(alert, to: settings.routing.missing.coordinator, exchange: HubQueues.alertsExchange)
    }

    /// The episode's stored documents, as received, for the notices that carry them.
    private func document(_ report: MissingEpisode.Report, episode id: String, _ db: any SQLDatabase) throws -> Any {
        let column = "\(report.rawValue == "interview" ? "interview" : report.rawValue + "_report")"
        guard
            let sealed = try Data.fetchOne(
                db.cachedStatement(sql: "SELECT \(column) FROM missing_episode WHERE id = ?"), arguments: [id])
        else { throw CorruptStore(detail: "missing episode \(id) has no \(column)") }
        let bytes = try openEpisodeDocument(sealed, column: column, episode: id)
        return try JSONText.parse(bytes)
    }

    private func carryOut(
        _ effects: [MissingEpisode.Effect], episode id: String, subjects: String, subjectRef: String,
        openCase: OpenCase?, _ db: any SQLDatabase, now: Date
    ) throws -> [OutboxMessage] {
        let routing = settings.routing.missing
        let sharing = Sharing(
            purpose: Self.missingPurpose, basis: Self.missingBasis, categories: [.personal, .criminalOffence],
            caseID: id, subjectRef: subjectRef.isEmpty ? keyring.pseudonym(of: "missing:" + id) : subjectRef,
            subjects: subjects)
        let due = try Double.fetchOne(
            db.cachedStatement(sql: "SELECT interview_due FROM missing_episode WHERE id = ?"), arguments: [id]
        ).map(Date.init(timeIntervalSince1970:))
        var interviewDue = due
        var messages: [OutboxMessage] = []
        func notice(
            _ report: MissingEpisode.Report, purpose: String, to party: String, exchange: String, routingKey: String,
            extra: [String: Any] = [:]
        ) throws {
            var object: [String: Any] = [
                "schema": DocumentType.missingNotice.rawValue, "episodeID": id, "purpose": purpose,
                "report": report.rawValue, "document": try document(report, episode: id, db),
            ]
            object["interviewDue"] = interviewDue.map(Instant.format)
            object.merge(extra) { _, new in new }
            var headers = ["x-mash-episode": id]
            headers["x-mash-due"] = interviewDue.map(Instant.format)
            messages.append(
                try disclose(
                    DocumentWriter.encode(object), .missingNotice, to: party, exchange: exchange,
                    routingKey: routingKey, headers: headers, sharing, db, now: now))
        }
        for effect in effects {
            switch effect {
            case .ignore, .store:
                break
            case .startClock(let moment):
                interviewDue = moment
                try db.executeCached(
                    sql: "UPDATE missing_episode SET interview_due = ? WHERE id = ?",
                    arguments: [moment.timeIntervalSince1970, id])
                try addTimer(db, .breach, clock: Self.returnInterviewClock, at: moment, enquiry: id, request: nil)
            case .stopClock:
                try db.executeCached(
                    sql: """
                        UPDATE timer SET fired_at = ? WHERE enquiry_id = ? AND clock IN (?, ?) AND fired_at IS NULL
                        """,
                    arguments: [now.timeIntervalSince1970, id, Self.returnInterviewClock, Self.authorityChaseClock])
            case .review(let report):
                try notice(
                    report, purpose: "review", to: routing.coordinator, exchange: HubQueues.noticesExchange,
                    routingKey: HubQueues.missingEpisodes)
            case .socialWorker(let report):
                guard let openCase else { continue }
                try notice(
                    report, purpose: "social-worker", to: settings.routing.notifications.socialCare,
                    exchange: HubQueues.noticesExchange, routingKey: HubQueues.socialCareContacts,
                    extra: ["socialWorker": openCase.socialWorker, "team": openCase.team])
            case .alertHighRisk:
                try notice(
                    .missing, purpose: "high-risk", to: settings.practiceManager, exchange: HubQueues.alertsExchange,
                    routingKey: settings.practiceManager)
            case .copyToAuthority(let report, let authority):
                try notice(
                    report, purpose: "placing-authority", to: authority, exchange: HubQueues.authoritiesExchange,
                    routingKey: authority)
            case .requestInterview(let authority):
                messages.append(
                    try interviewRequest(id, to: authority, chase: 0, due: interviewDue, sharing, db, now: now))
            }
        }
        return messages
    }

    /// `mash.return-interview-request/1`: the placing authority is asked for its return interview.
    private func interviewRequest(
        _ id: String, to authority: String, chase: Int, due: Date?, _ sharing: Sharing, _ db: any SQLDatabase, now: Date
    ) throws -> OutboxMessage {
        var object: [String: Any] = [
            "schema": DocumentType.returnInterviewRequest.rawValue, "episodeID": id, "chase": chase,
            "requestedAt": Instant.format(now),
        ]
        object["interviewDue"] = due.map(Instant.format)
        var headers = ["x-mash-episode": id]
        headers["x-mash-due"] = due.map(Instant.format)
        let message = try disclose(
            DocumentWriter.encode(object), .returnInterviewRequest, to: authority,
            exchange: HubQueues.authoritiesExchange, routingKey: authority, headers: headers, sharing, db, now: now)
        if chase > 0 {
            try db.executeCached(sql: "UPDATE missing_episode SET chases = ? WHERE id = ?", arguments: [chase, id])
        }
        return message
    }

    /// The return-interview clock ran out (alert the co-ordinator once; a placing authority is chased from now
    /// on), or a placing authority's chase fell due (ask again, and schedule the next).
    func fireMissing(episode id: String, chase: Bool, due timerDue: Date, _ db: any SQLDatabase, now: Date) throws
        -> [OutboxMessage]
    {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT state, interview_due, placing_authority, chases, subjects, child_ref, alerted_at
                        FROM missing_episode WHERE id = ?
                        """),
                arguments: [id]),
            row["state"] as String == MissingEpisode.State.found.rawValue
        else { return [] }
        let routing = settings.routing.missing
        let due = (row["interview_due"] as Double?).map(Date.init(timeIntervalSince1970:)) ?? timerDue
        var messages: [OutboxMessage] = []
        let authority: String? = row["placing_authority"]
        if !chase {
            guard (row["alerted_at"] as Double?) == nil else { return [] }
            try db.executeCached(
                sql: "UPDATE missing_episode SET alerted_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, id])
            metrics.increment("mash_sla_breaches_total", [("clock", Self.returnInterviewClock)])
            let alert = Notice(
                type: .slaAlert, enquiryID: id, agency: authority, event: .breach, clock: Self.returnInterviewClock,
                dueBy: due, reason: "Return interview not held within \(Int(routing.interviewWithin / 3600)) hours",
                at: now)
            messages.append(try notice(alert, to: routing.coordinator, exchange: HubQueues.alertsExchange))
            logger.notice(
                "return interview overdue", metadata: ["episode": "\(id)", "authority": "\(authority ?? "-")"])
        }
        if let authority {
            let sharing = Sharing(
                purpose: Self.missingPurpose, basis: Self.missingBasis, categories: [.personal], caseID: id,
                subjectRef: row["child_ref"] ?? "", subjects: row["subjects"] ?? "")
            // An authority that has left the agreement is asked nothing more; the clock's alert says enough.
            if notSignatory(authority) == nil {
                let count = (row["chases"] as Int? ?? 0) + 1
                messages.append(try interviewRequest(id, to: authority, chase: count, due: due, sharing, db, now: now))
            }
            try addTimer(
                db, .chase, clock: Self.authorityChaseClock, at: now.addingTimeInterval(routing.chaseAuthoritiesEvery),
                enquiry: id, request: nil)
        }
        return messages
    }
}
