import AMQP
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHRuntime
import MASHService

extension Coordinator {
    /// Fires every timer whose moment has passed, including those that fell due while the coordinator was down.
    func runTimers(_ relay: OutboxRelay) async throws {
        while !Task.isCancelled {
            while case let messages = try await fireDueTimers(), !messages.isEmpty {
                relay.submit(messages)
            }
            relay.submit(try await chaseCorrections())
            relay.submit(try await checkpointIfDue())
            relay.submit(try await breachClocks())
            relay.submit(try await publishAgendas())
            try? await Task.sleep(for: settings.timerInterval)
        }
    }

    /// Fires up to 100 due timers in one transaction, a savepoint each, with the messages they cause in the
    /// outbox. Returns those messages.
    func fireDueTimers() async throws -> [OutboxMessage] {
        let now = now()
        let query = """
            SELECT id, due, event, clock, enquiry_id, request_id FROM timer
            WHERE fired_at IS NULL AND due <= ? ORDER BY due LIMIT 100
            """
        let anyDue: Bool = try await store.sql.read { db in
            try Row.fetchOne(db.cachedStatement(sql: query), arguments: [now.timeIntervalSince1970]) != nil
        }
        guard anyDue else { return [] }
        return try await outbox.write(now: self.now) { [self] db in
            let due = try Row.fetchAll(db.cachedStatement(sql: query), arguments: [now.timeIntervalSince1970])
            var messages: [OutboxMessage] = []
            for timer in due {
                try db.inSavepoint {
                    let caused = try fire(timer, db, now: now)
                    try outbox.enqueue(db, caused, now: now)
                    messages += caused
                    return .commit
                }
            }
            return messages
        }
    }

    private func fire(_ timer: Row, _ db: any SQLDatabase, now: Date) throws -> [OutboxMessage] {
        let id: Int64 = timer["id"]
        try db.executeCached(
            sql: "UPDATE timer SET fired_at = ? WHERE id = ? AND fired_at IS NULL",
            arguments: [now.timeIntervalSince1970, id])
        guard db.changesCount == 1 else { return [] }
        guard let event = Notice.Event(rawValue: timer["event"]) else {
            throw CorruptStore(detail: "timer \(id) has the unknown event '\(timer["event"] as String)'")
        }
        let clock: String = timer["clock"]
        let timerDue = Date(timeIntervalSince1970: timer["due"])
        let owner = TimerOwner(clock: clock, enquiryColumn: timer["enquiry_id"], requestColumn: timer["request_id"])
        let enquiryID: String
        let requestID: String?
        switch owner {
        case .encompassNotice(let notice, let dan):
            return try escalateEncompass(notice: notice, danID: dan, db, now: now)
        case .missingEpisode(let episode, let chase):
            return try fireMissing(episode: episode, chase: chase, due: timerDue, db, now: now)
        case .contact(let contact):
            return try escalateScreening(contact: contact, due: timerDue, db, now: now)
        case .contactFeedback(let contact):
            return try escalateFeedback(contact: contact, due: timerDue, db, now: now)
        case .consultation(let consultation):
            return try escalateSummary(consultation: consultation, due: timerDue, db, now: now)
        case .challenge(let challenge):
            return try escalateChallenge(challenge, due: timerDue, db, now: now)
        case .request(let enquiry, let request): (enquiryID, requestID) = (enquiry, request)
        case .enquiry(let enquiry): (enquiryID, requestID) = (enquiry, nil)
        }
        guard let lifecycle = try lifecycle(of: enquiryID, db), lifecycle.fires(owner) else { return [] }
        let dueBy: Date
        var agency: String?
        if let requestID {
            guard
                let request = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT agency, due FROM request WHERE id = ?"), arguments: [requestID])
            else { return [] }
            agency = request["agency"]
            dueBy = Date(timeIntervalSince1970: request["due"])
        } else {
            guard
                let decisionDue = try Double.fetchOne(
                    db.cachedStatement(sql: "SELECT decision_due FROM enquiry WHERE id = ?"), arguments: [enquiryID])
            else { return [] }
            dueBy = Date(timeIntervalSince1970: decisionDue)
        }

        let lag = now.timeIntervalSince(timerDue)
        metrics.time("mash_timer_fire_lag", .milliseconds(Int64(max(0, lag) * 1000)), [("event", event.rawValue)])
        if event == .breach { metrics.increment("mash_sla_breaches_total", [("clock", clock)]) }
        logger.notice(
            "SLA \(event.rawValue)",
            metadata: [
                "enquiry": "\(enquiryID)", "clock": "\(clock)", "agency": "\(agency ?? "-")",
                "lag": "\(String(format: "%.1f", lag))s",
            ])
        var messages: [OutboxMessage] = []
        let rule = SLATimerRule(chaseEvery: settings.routing.chaseEvery)
        for effect in rule.effects(of: event, due: timerDue, firedAt: now, agency: agency) {
            switch effect {
            case .alertPracticeManager:
                let alert = Notice(
                    type: .slaAlert, enquiryID: enquiryID, requestID: requestID, agency: agency, event: event,
                    clock: clock, dueBy: dueBy, at: now)
                messages.append(try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange))
            case .chaseAgency(let agency):
                let chase = Notice(
                    type: .requestChase, enquiryID: enquiryID, requestID: requestID, agency: agency, event: event,
                    clock: clock, dueBy: dueBy, at: now)
                messages.append(try notice(chase, to: agency, exchange: HubQueues.enquiriesExchange))
            case .scheduleChase(let moment):
                try addTimer(db, .chase, clock: clock, at: moment, enquiry: enquiryID, request: requestID)
            }
        }
        return messages
    }
}
