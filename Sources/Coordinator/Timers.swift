import AMQP
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHRuntime

extension Coordinator {
    /// Fires every timer whose moment has passed, including those that fell due while the coordinator was down.
    func runTimers(_ relay: OutboxRelay) async throws {
        while !Task.isCancelled {
            while case let messages = try await fireDueTimers(), !messages.isEmpty {
                relay.submit(messages)
            }
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
        let anyDue: Bool = try await store.pool.read { db in
            try Row.fetchOne(db, sql: query, arguments: [now.timeIntervalSince1970]) != nil
        }
        guard anyDue else { return [] }
        return try await outbox.write(now: self.now) { [self] db in
            let due = try Row.fetchAll(db, sql: query, arguments: [now.timeIntervalSince1970])
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

    private func fire(_ timer: Row, _ db: Database, now: Date) throws -> [OutboxMessage] {
        let id: Int64 = timer["id"]
        try db.execute(
            sql: "UPDATE timer SET fired_at = ? WHERE id = ? AND fired_at IS NULL",
            arguments: [now.timeIntervalSince1970, id])
        guard db.changesCount == 1 else { return [] }
        let event = Notice.Event(rawValue: timer["event"]) ?? .warning
        let clock: String = timer["clock"]
        let enquiryID: String = timer["enquiry_id"]
        let requestID: String? = timer["request_id"]
        let timerDue = Date(timeIntervalSince1970: timer["due"])
        if clock == "encompass", let requestID {
            return try escalateEncompass(notice: requestID, danID: enquiryID, db, now: now)
        }

        let dueBy: Date
        var agency: String?
        if let requestID {
            guard
                let request = try Row.fetchOne(
                    db, sql: "SELECT agency, status, due FROM request WHERE id = ?", arguments: [requestID]),
                (request["status"] as String) == "sent"
            else { return [] }
            agency = request["agency"]
            dueBy = Date(timeIntervalSince1970: request["due"])
        } else {
            guard
                let enquiry = try Row.fetchOne(
                    db, sql: "SELECT status, decision_due FROM enquiry WHERE id = ?", arguments: [enquiryID]),
                (enquiry["status"] as String) == "awaiting"
            else { return [] }
            dueBy = Date(timeIntervalSince1970: enquiry["decision_due"])
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
        let alert = Notice(
            type: .slaAlert, enquiryID: enquiryID, requestID: requestID, agency: agency, event: event, clock: clock,
            dueBy: dueBy, at: now)
        messages.append(try notice(alert, to: settings.practiceManager, exchange: HubQueues.alertsExchange))
        if event != .warning {
            if let agency, let requestID {
                let chase = Notice(
                    type: .requestChase, enquiryID: enquiryID, requestID: requestID, agency: agency, event: event,
                    clock: clock, dueBy: dueBy, at: now)
                messages.append(try notice(chase, to: agency, exchange: HubQueues.enquiriesExchange))
            }
            // The next chase is a whole number of intervals after this timer's own moment, so a restart neither
            // moves the chases nor sends the ones missed while down one by one.
            let interval = settings.routing.chaseEvery
            let steps = max(1, (now.timeIntervalSince(timerDue) / interval).rounded(.down) + 1)
            try addTimer(
                db, .chase, clock: clock, at: timerDue.addingTimeInterval(steps * interval), enquiry: enquiryID,
                request: requestID)
        }
        return messages
    }
}
