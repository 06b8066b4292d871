import Foundation
import MASHService

extension Coordinator {
    /// `/metrics`: the counters kept as messages flow, plus gauges read from the store at each scrape.
    func scrape() -> [UInt8] {
        let now = now()
        do {
            for summary in try store.readModel.openEnquiries(now: now) {
                let rag = [("rag", summary.rag)]
                metrics.record("mash_open_enquiries", Double(summary.open), rag)
                metrics.record("mash_enquiries_at_risk", Double(summary.atRisk), rag)
                metrics.record("mash_enquiries_breached", Double(summary.breached), rag)
                metrics.record("mash_enquiries_awaiting_decision", Double(summary.awaitingDecision), rag)
                metrics.record("mash_decisions_overdue", Double(summary.decisionOverdue), rag)
            }
            metrics.record("mash_outbox_backlog", Double(try store.readModel.outboxBacklog()))
            let overdue = try store.readModel.overdueTimers(now: now)
            metrics.record("mash_timers_overdue", Double(overdue.count))
            metrics.record("mash_timer_lag_seconds", overdue.lag)
            for adapter in try store.readModel.adapters() {
                let agency = [("agency", adapter.agency)]
                if let heard = adapter.lastHeartbeatAt {
                    metrics.record("mash_adapter_heartbeat_age_seconds", now.timeIntervalSince(heard), agency)
                }
                metrics.record("mash_adapter_pending", Double(adapter.pending), agency)
            }
            let corrections = try store.readModel.outstandingCorrections()
            metrics.record("mash_corrections_open", Double(corrections.count))
            metrics.record("mash_corrections_overdue", Double(corrections.filter { $0.overdue(at: now) }.count))
            metrics.record(
                "mash_correction_copies_unconfirmed", Double(corrections.reduce(0) { $0 + $1.waiting.count }))
            let breaches = try store.readModel.breaches(openOnly: true)
            metrics.record("mash_breaches_open", Double(breaches.count))
            metrics.record(
                "mash_breaches_overdue", Double(breaches.filter { $0.reportBy <= now }.count))
            metrics.record("mash_store_readable", 1)
        } catch {
            metrics.record("mash_store_readable", 0)
            logger.error("metrics: the store could not be read", metadata: ["error": "\(error)"])
        }
        let status = connection?.status
        metrics.record("mash_broker_connected", status?.isConnected == true ? 1 : 0)
        metrics.record("mash_broker_recoveries", Double(status?.recoveries ?? 0))
        return metrics.exposition()
    }

    /// `/health`: failing while the broker connection is down, the store cannot be read, or timers are more
    /// than a minute late (the clocks are not being run).
    func health() -> HealthReport {
        var checks: [HealthReport.Check] = []
        let status = connection?.status
        checks.append(
            .init(
                "broker", healthy: status?.isConnected == true,
                status?.isConnected == true ? "connected" : "not connected (\(status?.recoveries ?? 0) recoveries)"))
        do {
            let backlog = try store.readModel.outboxBacklog()
            let overdue = try store.readModel.overdueTimers(now: now())
            checks.append(.init("store", healthy: true, "readable; outbox backlog \(backlog)"))
            checks.append(
                .init(
                    "timers", healthy: overdue.lag < 60,
                    "\(overdue.count) overdue, the oldest \(Int(overdue.lag)) s late"))
        } catch {
            checks.append(.init("store", healthy: false, "cannot be read"))
        }
        return HealthReport(checks)
    }
}
