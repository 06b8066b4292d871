import Foundation
import Hummingbird
import MASHAgency
import MASHCore

/// The Missing and Exploitation Co-ordinator's desk: the daily review of missing episodes, the return
/// interview form on a found child, and the Missing and Exploitation Panel's list.
extension Pages {
    /// The return-interview form's starting values: now (UK time) for the offer and the interview.
    static func interviewForm(staffID: String, now: Date) -> [String: Any] {
        [
            "now": UKTime.inputValue(now), "staffID": staffID,
            "themes": ReturnInterview.Theme.allCases.map {
                ["value": $0.rawValue, "text": DeskDocument.words($0.rawValue)]
            },
            "flags": ExploitationFlag.allCases.map { ["value": $0.rawValue, "text": Self.flagName($0)] },
        ]
    }

    static func flagName(_ flag: ExploitationFlag) -> String {
        switch flag {
        case .sexual: "Child sexual exploitation"
        case .criminal: "Child criminal exploitation"
        case .countyLines: "County lines"
        case .trafficking: "Trafficking"
        case .online: "Online exploitation"
        case .gangs: "Gangs"
        }
    }

    /// What the posted interview form says. `outcome` is `held`, `offered` (accepted, not yet held),
    /// `declined` or `not-reachable`; the episode is filled in by the desk from the item.
    static func interviewAction(_ fields: Form, by staffID: String, now: Date) -> Result<Desk.ActionForm, FormProblem> {
        let trimmed = { (text: String?) in text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        guard let offeredAt = UKTime.fromInput(trimmed(fields.offeredAt)) else {
            return .failure(FormProblem(reason: "give the date and time the interview was offered"))
        }
        guard offeredAt <= now.addingTimeInterval(300) else {
            return .failure(FormProblem(reason: "the offer's time is in the future"))
        }
        guard let independent = fields.independent.flatMap({ ["yes": true, "no": false][$0] }) else {
            return .failure(FormProblem(reason: "say whether the interviewer is independent of the child's care"))
        }
        var interview = ReturnInterview(
            episodeID: "", offeredAt: offeredAt,
            offeredBy: trimmed(fields.offeredBy).isEmpty ? staffID : trimmed(fields.offeredBy),
            independent: independent, response: .accepted)
        interview.exploitation = (fields.multiple["flag"] ?? []).compactMap(ExploitationFlag.init)
        switch fields.response {
        case "held":
            guard let heldAt = UKTime.fromInput(trimmed(fields.heldAt)), heldAt >= offeredAt,
                heldAt <= now.addingTimeInterval(300)
            else {
                return .failure(
                    FormProblem(reason: "give when the interview was held (after the offer, not in the future)"))
            }
            guard !trimmed(fields.record).isEmpty else {
                return .failure(FormProblem(reason: "write what was said and agreed"))
            }
            interview.heldAt = heldAt
            interview.record = trimmed(fields.record)
            interview.themes = (fields.multiple["theme"] ?? []).compactMap(ReturnInterview.Theme.init)
        case "offered": break
        case "declined", "not-reachable":
            interview.response = fields.response == "declined" ? .declined : .notReachable
            interview.record = trimmed(fields.record).isEmpty ? nil : trimmed(fields.record)
        default:
            return .failure(FormProblem(reason: "choose what happened: held, offered, declined or not reachable"))
        }
        var form = Desk.ActionForm()
        form.interview = interview
        return .success(form)
    }

    /// One missing episode as this desk knows it, from the notices it holds.
    struct Episode {
        var id: String
        var child: String?
        var born: LocalDate?
        var risk: String?
        var missingFrom: String?
        var authority: String?
        var reportedAt: Date?
        var firstReceived: Date
        var foundAt: Date?
        var interviewDue: Date?
        /// The found notice: where the interview is recorded.
        var foundItem: String?
        var missingItem: String?
        /// Recorded on this desk (the found item done) or sent by the placing authority.
        var concluded: String?
        var offered: Bool = false
        var alerted = false
        var flags: Set<String> = []
    }

    func episodes() async throws -> [Episode] {
        var episodes: [String: Episode] = [:]
        for (item, summary) in try await desk.summaries() {
            guard let id = summary.episodeID, item.restrictedBy == nil else { continue }
            var episode = episodes[id] ?? Episode(id: id, firstReceived: item.receivedAt)
            episode.firstReceived = min(episode.firstReceived, item.receivedAt)
            if item.type == DocumentType.slaAlert.rawValue {
                episode.alerted = true
                episodes[id] = episode
                continue
            }
            guard let opened = try await desk.open(id: item.id, markingSeen: false) else { continue }
            let document = opened.document["document"] as? [String: Any] ?? [:]
            switch summary.report {
            case "missing":
                episode.missingItem = item.id
                if let child = document["child"] as? [String: Any] {
                    episode.child = summary.about
                    episode.born = (child["dateOfBirth"] as? String).flatMap(LocalDate.init)
                }
                episode.risk = document["risk"] as? String
                episode.missingFrom = document["missingFrom"] as? String
                episode.authority = document["placingAuthority"] as? String
                episode.reportedAt = (document["reportedAt"] as? String).flatMap(Instant.parse)
                episode.flags.formUnion(document["exploitation"] as? [String] ?? [])
            case "found":
                episode.foundItem = item.id
                episode.foundAt = (document["foundAt"] as? String).flatMap(Instant.parse)
                episode.interviewDue = item.dueAt
                if item.status == .done { episode.concluded = item.result.map(Self.interviewResult) ?? "recorded" }
            case "interview":
                let response = document["response"] as? String
                let held = document["heldAt"] != nil
                episode.flags.formUnion(document["exploitation"] as? [String] ?? [])
                if held || response != "accepted" {
                    episode.concluded = held ? "held" : response.map(Self.interviewResult) ?? "recorded"
                } else {
                    episode.offered = true
                }
            default: break
            }
            episodes[id] = episode
        }
        return Array(episodes.values)
    }

    static func interviewResult(_ code: String) -> String {
        [
            "held": "Interview held", "declined": "Declined", "not-reachable": "Could not be reached",
            "accepted": "Offered",
        ][code] ?? code
    }

    func row(_ episode: Episode, now: Date) -> [String: Any] {
        let child = episode.child ?? "Not yet known (the police's missing report has not arrived)"
        var row: [String: Any] = [
            "child": child + (episode.born.map { ", born \(UKTime.date($0))" } ?? ""),
            "risk": episode.risk.map(DeskDocument.words) ?? "—",
            "from": episode.missingFrom.map { $0 == "care" ? "Care" : "Home" } ?? "—",
            "authority": episode.authority ?? "Medway", "placed": episode.authority != nil,
            "reported": episode.reportedAt.map(UKTime.dateTime) ?? "—",
            "found": episode.foundAt.map(UKTime.dateTime) ?? false,
            "item": episode.foundItem ?? episode.missingItem ?? "",
            "flags": episode.flags.sorted().joined(separator: ", "),
        ]
        row["due"] = episode.interviewDue.map(UKTime.dateTime) ?? false
        row["left"] = episode.interviewDue.map { UKTime.remaining(until: $0, now: now) } ?? false
        row["overdue"] = episode.interviewDue.map { $0 < now } ?? false
        row["status"] =
            episode.concluded
            ?? (episode.foundAt == nil
                ? "Still missing"
                : episode.offered ? "Interview offered, not yet held" : "Return interview to offer")
        return row
    }

    /// `/missing`: new episodes (the last 24 hours), children still missing, and found children whose return
    /// interview is due, soonest first, with the time left in words; then those concluded.
    func missing(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.shows.contains(.missingNotice) else {
            return message("Not found", "This desk has no missing children.", staff: staff, status: .notFound)
        }
        let now = now()
        let episodes = try await episodes()
        await log.record("missing-review", staff: staff.account.id, detail: "\(episodes.count) episodes", at: now)
        let fresh = episodes.filter { now.timeIntervalSince($0.firstReceived) <= 86400 }
            .sorted { $0.firstReceived > $1.firstReceived }
        let stillMissing = episodes.filter { $0.foundAt == nil && $0.concluded == nil }
            .sorted { ($0.reportedAt ?? $0.firstReceived) < ($1.reportedAt ?? $1.firstReceived) }
        let due = episodes.filter { $0.foundAt != nil && $0.concluded == nil }
            .sorted { ($0.interviewDue ?? .distantFuture) < ($1.interviewDue ?? .distantFuture) }
        let concluded = episodes.filter { $0.concluded != nil }.sorted { $0.firstReceived > $1.firstReceived }
        let rows = { (list: [Episode]) in list.map { row($0, now: now) } }
        return page(
            "missing",
            [
                "title": "Missing children: daily review", "fresh": rows(fresh), "hasFresh": !fresh.isEmpty,
                "stillMissing": rows(stillMissing), "hasStillMissing": !stillMissing.isEmpty, "due": rows(due),
                "hasDue": !due.isEmpty, "concluded": rows(concluded), "hasConcluded": !concluded.isEmpty,
                "overdue": overdueText(due.filter { ($0.interviewDue ?? .distantFuture) < now }.count),
            ], staff: staff)
    }

    /// A count in words for the banner, or false (no banner) when nothing is overdue.
    private func overdueText(_ count: Int) -> Any {
        count == 0 ? false : count == 1 ? "1 return interview is overdue." : "\(count) return interviews are overdue."
    }

    /// `/panel`: children with `panel.episodes` or more episodes within `panel.within`, or any exploitation
    /// flag, with their episodes, for the monthly Missing and Exploitation Panel.
    func panel(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.shows.contains(.missingNotice) else {
            return message("Not found", "This desk has no missing children.", staff: staff, status: .notFound)
        }
        let now = now()
        let rule = configuration.panel
        var children: [String: [Episode]] = [:]
        for episode in try await episodes() {
            guard let child = episode.child else { continue }
            let key = "\(child.lowercased())|\(episode.born?.description ?? "")"
            children[key, default: []].append(episode)
        }
        let listed = children.values.filter { episodes in
            rule.lists(
                reportedAt: episodes.compactMap(\.reportedAt), flagged: episodes.contains { !$0.flags.isEmpty },
                now: now)
        }.sorted { $0.count > $1.count }
        await log.record("panel-list", staff: staff.account.id, detail: "\(listed.count) children", at: now)
        let days = Int(rule.within / 86400)
        let rows: [[String: Any]] = listed.map { episodes in
            let recent = episodes.filter { now.timeIntervalSince($0.reportedAt ?? now) <= rule.within }.count
            let flags = Set(episodes.flatMap(\.flags)).sorted().compactMap(ExploitationFlag.init).map(Self.flagName)
            return [
                "child": row(episodes[0], now: now)["child"] ?? "",
                "count": "\(recent) in \(days) days",
                "flags": flags.isEmpty ? "None" : flags.joined(separator: ", "),
                "episodes": episodes.sorted { ($0.reportedAt ?? .distantPast) > ($1.reportedAt ?? .distantPast) }.map {
                    row($0, now: now)
                },
            ]
        }
        return page(
            "panel",
            [
                "title": "Missing and Exploitation Panel", "children": rows, "hasChildren": !rows.isEmpty,
                "rule": "\(rule.episodes) or more episodes in \(days) days, or any exploitation flag",
            ], staff: staff)
    }
}
