import Foundation
import MASHCore
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
                // Seconds to the soonest running deadline (negative once breached); 0 with nothing open.
                metrics.record(
                    "mash_enquiries_next_deadline_seconds",
                    summary.nextDeadline.map { $0.timeIntervalSince(now) } ?? 0, rag)
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
                metrics.record("mash_adapter_heartbeat_interval_seconds", adapter.interval ?? 30, agency)
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
            try recordMissing(now: now)
            try recordFrontDoor(now: now)
            try recordMeetings(now: now)
            try recordWatchdogs(now: now)
            metrics.record("mash_store_readable", 1)
        } catch {
            metrics.record("mash_store_readable", 0)
            logger.error("metrics: the store could not be read", metadata: ["error": "\(error)"])
        }
        if let last = settings.calendar.holidays.max() {
            metrics.record(
                "mash_calendar_last_holiday_timestamp_seconds",
                settings.calendar.instant(last, TimeOfDay(0, 0)).timeIntervalSince1970)
        }
        metrics.recordBroker(connection?.status, url: settings.broker)
        return metrics.exposition()
    }

    /// Missing episodes: open ones, interviews overdue (by placing authority, `medway` for the hub's own), and the
    /// share held within the clock over the last 30 days.
    private func recordMissing(now: Date) throws {
        let episodes = try store.readModel.missingEpisodes(concludedSince: now)
        let open = episodes.filter { $0.state != MissingEpisode.State.concluded.rawValue }
        metrics.record("mash_missing_episodes_open", Double(open.count))
        var overdue: [String: Int] = ["medway": 0]
        for authority in settings.routing.missing.authorities { overdue[authority] = 0 }
        for episode in open where episode.overdue(at: now) { overdue[episode.authority ?? "medway", default: 0] += 1 }
        for (authority, count) in overdue {
            metrics.record("mash_return_interviews_overdue", Double(count), [("authority", authority)])
        }
        if let share = try store.readModel.returnInterviewsHeldInTime(window: 30 * 86400, now: now) {
            metrics.record("mash_return_interviews_in_time_ratio", share)
        }
    }

    /// The front door: contacts waiting to be screened, those past their time, outcomes and consultation
    /// summaries the portal has not confirmed in time.
    private func recordFrontDoor(now: Date) throws {
        let contacts = try store.readModel.contacts(since: now)
        metrics.record("mash_contacts_unscreened", Double(contacts.filter { $0.state == "received" }.count))
        metrics.record(
            "mash_contacts_unscreened_overdue", Double(contacts.filter { $0.unscreenedOverdue(at: now) }.count))
        metrics.record("mash_contact_feedback_late", Double(contacts.filter { $0.feedbackLate(at: now) }.count))
        let consultations = try store.readModel.consultations(since: now)
        metrics.record(
            "mash_consultation_summaries_late", Double(consultations.filter { $0.summaryLate(at: now) }.count))
    }

    /// The dispute route and the meetings: challenges not resolved and those whose stage ran out of time, and
    /// MASH meetings whose list went to the Practice Manager and whose record has not come back in time.
    private func recordMeetings(now: Date) throws {
        let challenges = try store.readModel.challenges(resolvedSince: now).filter { $0.resolvedAt == nil }
        metrics.record("mash_challenges_open", Double(challenges.count))
        metrics.record("mash_challenge_stages_overdue", Double(challenges.filter { $0.overdue(at: now) }.count))
        let meetings = settings.routing.meetings
        let unrecorded = try store.readModel.meetingsListedNotRecorded(since: now.addingTimeInterval(-7 * 86_400))
            .compactMap { meetings.schedule.sitting(id: $0, calendar: settings.calendar) }
            .filter { $0.kind == .mash && $0.at.addingTimeInterval(meetings.recordWithin) <= now }
        metrics.record("mash_meetings_unrecorded", Double(unrecorded.count))
    }

    /// What fails to arrive (`HubReadModel` watchdogs), as gauges the alert rules in `deploy/prometheus` read.
    private func recordWatchdogs(now: Date) throws {
        let model = store.readModel
        for party in try model.heard(settings.expectedParties) {
            metrics.record(
                "mash_party_never_heard", party.lastHeartbeatAt == nil ? 1 : 0,
                [("party", party.party), ("kind", party.kind.rawValue)])
        }
        for feed in try model.rollFeeds(Array(settings.schools.values)) {
            let urn = [("urn", feed.urn)]
            metrics.record("mash_roll_feed_every_seconds", Double(feed.everyDays) * 86_400, urn)
            metrics.record("mash_roll_feed_overdue", feed.overdue(at: now) ? 1 : 0, urn)
            metrics.record("mash_roll_feed_never_received", feed.lastAcceptedAt == nil ? 1 : 0, urn)
            if let last = feed.lastAcceptedAt {
                metrics.record("mash_roll_feed_age_seconds", now.timeIntervalSince(last), urn)
            }
        }
        metrics.record(
            "mash_dans_untriaged_overdue",
            Double(try model.untriagedDANs(calendar: settings.calendar, now: now).reduce(0) { $0 + $1.untriaged }))
        metrics.record("mash_encompass_notices_overdue", Double(try model.unacknowledgedEncompassNotices(now: now)))
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
