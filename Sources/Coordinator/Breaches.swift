import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

/// Personal data breaches (KMISA; UK GDPR Arts. 33 and 34): opened by an operator, the affected parties worked
/// out from the record of sharing and told at once, a 72-hour wall-clock clock to the ICO report with alerts to
/// the Practice Manager and the DPO at 24 and 4 hours left and when it passes, closed with the ICO's reference or
/// the reason it was not reportable.
extension Coordinator {
    /// A breach notice is sent under the agreement's duty to tell every party involved (UK GDPR Arts. 33, 34);
    /// it may go to a party that has since left, being about what it already holds.
    static let breachBasis = LawfulBasis(article6: .legalObligation)

    func record(_ report: BreachReport, _ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        let now = now()
        try refuseIfExpired(report.expiresAt, now: now, "the breach request", "nothing changed")
        let exists =
            try Bool.fetchOne(db, sql: "SELECT 1 FROM breach WHERE id = ?", arguments: [report.breachID]) ?? false
        switch report.action {
        case .open:
            guard !exists else {
                throw Refusal(reason: "breachExists", detail: "breach \(report.breachID) is already open")
            }
            return try open(report, message, db, now: now)
        case .update, .close:
            guard
                let closed = try Row.fetchOne(
                    db, sql: "SELECT closed_at FROM breach WHERE id = ?", arguments: [report.breachID])
            else { throw Refusal(reason: "unknownBreach", detail: "no breach \(report.breachID)") }
            guard (closed["closed_at"] as Double?) == nil else {
                throw Refusal(reason: "breachClosed", detail: "breach \(report.breachID) is closed")
            }
            if report.action == .update {
                try db.execute(
                    sql: "UPDATE breach SET notes = notes || ? WHERE id = ?",
                    arguments: [
                        "\(Instant.format(now)) \(report.requestedBy): \(report.note ?? "")\n", report.breachID,
                    ])
                try recordAction(
                    .breach, message, by: report.requestedBy, summary: "update \(report.breachID)", db, now: now)
            } else {
                try db.execute(
                    sql: """
                        UPDATE breach SET closed_at = ?, closed_by = ?, ico_reference = ?, not_reportable = ?
                        WHERE id = ?
                        """,
                    arguments: [
                        now.timeIntervalSince1970, report.requestedBy, report.icoReference,
                        report.icoReference == nil ? report.note : nil, report.breachID,
                    ])
                try recordAction(
                    .breach, message, by: report.requestedBy,
                    summary: "close \(report.breachID): "
                        + (report.icoReference.map { "reported to the ICO, reference \($0)" }
                            ?? "not reportable: \(report.note ?? "")"),
                    db, now: now)
                logger.notice("breach closed", metadata: ["breach": "\(report.breachID)"])
            }
            return []
        }
    }

    private func open(_ report: BreachReport, _ message: InboundMessage, _ db: any SQLDatabase, now: Date) throws
        -> [OutboxMessage]
    {
        let scope = report.scope ?? BreachReport.Scope()
        var conditions = ["recipient NOT IN ('retention', 'erasure')"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if !scope.parties.isEmpty {
            let marks = scope.parties.map { _ in "?" }.joined(separator: ",")
            conditions.append("(sender IN (\(marks)) OR recipient IN (\(marks)))")
            arguments += scope.parties + scope.parties
        }
        if !scope.enquiries.isEmpty {
            conditions.append("enquiry_id IN (\(scope.enquiries.map { _ in "?" }.joined(separator: ",")))")
            arguments += scope.enquiries
        }
        if let from = scope.from {
            conditions.append("\(db.engine.epochSeconds(ofText: "at")) >= ?")
            arguments.append(from.timeIntervalSince1970)
        }
        if let to = scope.to {
            conditions.append("\(db.engine.epochSeconds(ofText: "at")) < ?")
            arguments.append(to.timeIntervalSince1970)
        }
        let entries = try Row.fetchAll(
            db,
            sql: """
                SELECT sender, recipient, message_id, enquiry_id, subject_ref, subjects FROM record_of_sharing
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq
                """, arguments: StatementArguments(arguments))
        struct Affected {
            var messages: [String] = []
            var cases: [String] = []
            var people = Set<String>()
        }
        var affected: [String: Affected] = [:]
        var everyone = Set<String>()
        for entry in entries {
            let subjects: String = entry["subjects"] ?? ""
            let people =
                subjects.isEmpty
                ? [entry["subject_ref"] as String].filter { !$0.isEmpty }
                : subjects.split(separator: ",").map(String.init)
            everyone.formUnion(people)
            for party in [entry["sender"] as String, entry["recipient"] as String]
            where party != settings.identity && PartyName.isValid(party) {
                var record = affected[party] ?? Affected()
                record.messages.append(entry["message_id"])
                let caseID: String = entry["enquiry_id"]
                if !caseID.isEmpty, !record.cases.contains(caseID) { record.cases.append(caseID) }
                record.people.formUnion(people)
                affected[party] = record
            }
        }
        let discovered = report.discoveredAt ?? now
        let reportBy = discovered.addingTimeInterval(BreachReport.reportWithin)
        let parties = affected.keys.sorted()
        try db.execute(
            sql: """
                INSERT INTO breach (id, summary, discovered_at, report_by, opened_by, opened_at, parties, people,
                    disclosures)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                report.breachID, report.summary ?? "", discovered.timeIntervalSince1970, reportBy.timeIntervalSince1970,
                report.requestedBy, now.timeIntervalSince1970, parties.joined(separator: ","), everyone.count,
                entries.count,
            ])
        var messages: [OutboxMessage] = []
        for party in parties {
            let record = affected[party]!
            let notice = BreachNotice(
                breachID: report.breachID, summary: report.summary ?? "", discoveredAt: discovered, reportBy: reportBy,
                messages: record.messages, cases: record.cases, people: record.people.count, at: now)
            let destination = try destination(of: party, forCase: record.cases.first ?? "", db)
            messages.append(
                try disclose(
                    notice.json, .breachNotice, to: party, exchange: destination.exchange,
                    routingKey: destination.routingKey, headers: ["x-mash-breach": report.breachID],
                    Sharing(
                        purpose: "breach notice: the party's data may have been exposed", basis: Self.breachBasis,
                        categories: [], caseID: report.breachID, subjectRef: ""), db, now: now,
                    toFormerRecipient: true))
        }
        try recordAction(
            .breach, message, by: report.requestedBy,
            summary: "open \(report.breachID): \(entries.count) disclosures, \(everyone.count) people, "
                + "\(parties.count) parties told (\(parties.joined(separator: ", ")))", db, now: now)
        metrics.increment("mash_breaches_total")
        logger.error(
            "personal data breach opened",
            metadata: [
                "breach": "\(report.breachID)", "parties": "\(parties.count)", "people": "\(everyone.count)",
                "reportBy": "\(Instant.format(reportBy))",
            ])
        return messages
    }

    /// The 72-hour clocks: an alert to the Practice Manager and the DPO (when `notifications.dpo` names one) at
    /// 24 hours left, at 4 hours left, and once the time has passed with the breach still open. Each stage is
    /// recorded with its alert in one transaction, so a restart neither loses nor repeats one.
    func breachClocks() async throws -> [OutboxMessage] {
        let now = now()
        let stages: [(stage: Int, left: TimeInterval, event: Notice.Event, words: String)] = [
            (1, 24 * 3600, .warning, "24 hours or less left"), (2, 4 * 3600, .warning, "4 hours or less left"),
            (3, 0, .breach, "the 72 hours have passed"),
        ]
        let query = "SELECT id, report_by, alerted FROM breach WHERE closed_at IS NULL AND alerted < 3"
        let due = try await store.sql.read { db in
            try Row.fetchAll(db, sql: query).contains { row in
                let alerted: Int = row["alerted"]
                let reportBy: Double = row["report_by"]
                return stages.contains { $0.stage > alerted && reportBy - now.timeIntervalSince1970 <= $0.left }
            }
        }
        guard due else { return [] }
        return try await outbox.write(now: self.now) { [self] db in
            var messages: [OutboxMessage] = []
            for row in try Row.fetchAll(db, sql: query) {
                let id: String = row["id"]
                let alerted: Int = row["alerted"]
                let reportBy = Date(timeIntervalSince1970: row["report_by"])
                guard
                    let stage = stages.last(where: {
                        $0.stage > alerted && reportBy.timeIntervalSince(now) <= $0.left
                    })
                else { continue }
                try db.execute(sql: "UPDATE breach SET alerted = ? WHERE id = ?", arguments: [stage.stage, id])
                let alert = Notice(
                    type: .slaAlert, enquiryID: id, event: stage.event, clock: "breach", dueBy: reportBy,
                    reason: "personal data breach \(id): \(stage.words) to report it to the ICO "
                        + "(mashctl breach close --ico-reference, or --not-reportable with the reason)", at: now)
                var alerts = [try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange)]
                if let dpo = settings.routing.notifications.dpo {
                    do {
                        alerts.append(try notice(alert, to: dpo, exchange: HubQueues.alertsExchange))
                    } catch {
                        // A DPO without a key must not stop the Practice Manager's alert, nor the clock.
                        logger.error(
                            "breach alert not sealed to the DPO", metadata: ["dpo": "\(dpo)", "error": "\(error)"])
                    }
                }
                try outbox.enqueue(db, alerts, now: now)
                messages += alerts
                logger.error(
                    "breach clock", metadata: ["breach": "\(id)", "stage": "\(stage.words)"])
            }
            return messages
        }
    }
}
