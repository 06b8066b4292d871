import Foundation
import MASHConfig
import MASHReadModel

/// How bad a finding is; the worst one is `mashctl status`'s exit status.
enum HealthLevel: Int, Codable, Comparable, Sendable {
    case healthy = 0, warning = 1, critical = 2

    static func < (lhs: HealthLevel, rhs: HealthLevel) -> Bool { lhs.rawValue < rhs.rawValue }

    var label: String {
        switch self {
        case .healthy: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        }
    }
}

/// When `mashctl status` warns and when it calls a state critical (Config/operations.yaml).
struct StatusThresholds: Sendable, Equatable {
    struct Levels<Value: Sendable & Equatable & Comparable>: Sendable, Equatable {
        var warning: Value
        var critical: Value

        func level(of value: Value) -> HealthLevel {
            value >= critical ? .critical : value >= warning ? .warning : .healthy
        }
    }

    /// Age of the oldest message waiting in an input queue.
    var oldestWaiting = Levels<TimeInterval>(warning: 5 * 60, critical: 30 * 60)
    /// Messages in a dead-letter queue.
    var deadLetters = Levels<Int>(warning: 1, critical: 100)
    /// Time since an adapter's last heartbeat.
    var adapterSilence = Levels<TimeInterval>(warning: 2 * 60, critical: 10 * 60)
    /// Open enquiries past a deadline.
    var breachedEnquiries = Levels<Int>(warning: 1, critical: 10)
    /// Messages committed by the coordinator but not yet published.
    var outboxBacklog = Levels<Int>(warning: 100, critical: 1000)

    static func load(file: String) throws -> StatusThresholds {
        var top = try ConfigMapping.load(file: file)
        var thresholds = StatusThresholds()
        func durations(_ key: String, _ levels: inout Levels<TimeInterval>) throws {
            guard var mapping = try top.optionalMapping(key) else { return }
            let warning = try mapping.string("warning")
            let critical = try mapping.string("critical")
            levels = Levels(
                warning: try mapping.duration(warning, key: "warning"),
                critical: try mapping.duration(critical, key: "critical"))
            try mapping.finish()
            guard levels.warning <= levels.critical else { throw top.error(key, "warning must not exceed critical") }
        }
        func counts(_ key: String, _ levels: inout Levels<Int>) throws {
            guard var mapping = try top.optionalMapping(key) else { return }
            guard let warning = try mapping.optionalInt("warning"), warning > 0 else {
                throw mapping.error("warning", "is required (a whole number above 0)")
            }
            guard let critical = try mapping.optionalInt("critical"), critical >= warning else {
                throw mapping.error("critical", "is required (a whole number, at least the warning)")
            }
            levels = Levels(warning: warning, critical: critical)
            try mapping.finish()
        }
        try durations("oldestWaiting", &thresholds.oldestWaiting)
        try counts("deadLetters", &thresholds.deadLetters)
        try durations("adapterSilence", &thresholds.adapterSilence)
        try counts("breachedEnquiries", &thresholds.breachedEnquiries)
        try counts("outboxBacklog", &thresholds.outboxBacklog)
        try top.finish()
        return thresholds
    }
}

/// Everything `mashctl status` shows, as `--json` prints it. Unknown figures are null, and `unknownColumns`
/// says which columns could not be read and why.
struct StatusReport: Codable, Sendable {
    struct Queue: Codable, Sendable, Equatable {
        var agency: String
        var queue: String
        var type: String?
        var ready: Int?
        var unacked: Int?
        var consumers: Int?
        var publishRate: Double?
        var deliverRate: Double?
        var ackRate: Double?
        /// Seconds; null when nothing waits or when the age cannot be known.
        var oldestWaitingSeconds: Double?
        var deadLetterQueue: String?
        var deadLetters: Int?
    }

    struct Adapter: Codable, Sendable, Equatable {
        var agency: String
        var lastHeartbeatAt: Date?
        var lastResponseAt: Date?
        var pending: Int
        var version: String?
    }

    struct Finding: Codable, Sendable, Equatable {
        var level: HealthLevel
        var subject: String
        var message: String
    }

    var generatedAt: Date
    /// "AMQP passive declares and the management API", or "AMQP passive declares" alone.
    var source: String
    var unknownColumns: [String] = []
    var notes: [String] = []
    var queues: [Queue] = []
    var adapters: [Adapter]?
    var enquiries: [HubReadModel.OpenEnquiries]?
    var outboxBacklog: Int?
    /// Corrections some recipient has not confirmed (UK GDPR Art. 19), the soonest due first.
    var corrections: [HubReadModel.OutstandingCorrection]?
    /// Open personal data breaches and their 72-hour clocks.
    var breaches: [HubReadModel.Breach]?
    /// When the management API last sampled the figures it gave (TYPE, UNACK and the rates); null without it.
    var managementSampledAt: Date?
    /// Expected parties ("agency police", "desk spa") that have never sent a heartbeat.
    var neverHeard: [String]?
    /// Each school's roll feed against its cadence.
    var rollFeeds: [HubReadModel.RollFeed]?
    /// Triage days still holding DANs without an outcome on a later working day.
    var untriagedDANs: [HubReadModel.UntriagedDay]?
    /// Encompass notices past the school day's start with no receipt.
    var encompassOverdue: Int?
    /// Return interviews past their clock (72 hours from the child's return), by placing authority (`medway`
    /// for the hub's own children).
    var returnInterviewsOverdue: [String: Int]?
    /// Challenges to a MASH decision not yet resolved, and how many of those are past their stage's time.
    var challengesOpen: Int?
    var challengesOverdue: Int?

    struct Refusals: Codable, Sendable, Equatable {
        var party: String
        var reason: String
        var count: Int
    }

    /// What adapters and desks refused in the last 24 hours, by party and reason (their refusal reports).
    var refusals: [Refusals]?
    var findings: [Finding] = []
    var level: HealthLevel = .healthy

    /// Judges the figures against `thresholds`, filling `findings` and `level`.
    mutating func evaluate(_ thresholds: StatusThresholds) {
        var found: [Finding] = findings
        for queue in queues {
            var level = HealthLevel.healthy
            var problems: [String] = []
            if let ready = queue.ready, ready > 0 {
                if queue.consumers == 0 {
                    level = .warning
                    problems.append("\(ready) waiting with no consumer")
                }
                if let age = queue.oldestWaitingSeconds {
                    let ageLevel = thresholds.oldestWaiting.level(of: age)
                    if ageLevel > .healthy { problems.append("oldest waiting \(Format.age(age))") }
                    level = max(level, ageLevel)
                }
            }
            if let dead = queue.deadLetters, dead > 0 {
                let deadLevel = thresholds.deadLetters.level(of: dead)
                if deadLevel > .healthy {
                    problems.append("\(dead) in \(queue.deadLetterQueue ?? "its DLQ")")
                    level = max(level, deadLevel)
                }
            }
            if level > .healthy {
                found.append(Finding(level: level, subject: queue.queue, message: problems.joined(separator: ", ")))
            }
        }
        for adapter in adapters ?? [] {
            guard let heard = adapter.lastHeartbeatAt else { continue }
            let silence = generatedAt.timeIntervalSince(heard)
            let level = thresholds.adapterSilence.level(of: silence)
            if level > .healthy {
                found.append(
                    Finding(
                        level: level, subject: "adapter \(adapter.agency)",
                        message: "no heartbeat for \(Format.age(silence))"))
            }
        }
        if let enquiries {
            func judge(_ count: Int, _ subject: String, _ message: String) {
                let level = count > 0 ? thresholds.breachedEnquiries.level(of: count) : .healthy
                if level > .healthy { found.append(Finding(level: level, subject: subject, message: message)) }
            }
            let breached = enquiries.map(\.breached).reduce(0, +)
            judge(breached, "enquiries", "\(breached) open enquir\(breached == 1 ? "y is" : "ies are") past a deadline")
            let late = enquiries.map(\.decisionOverdue).reduce(0, +)
            judge(
                late, "decisions",
                "\(late) decision package\(late == 1 ? " is" : "s are") past the decision deadline with no decision "
                    + "recorded")
        }
        for correction in corrections ?? [] {
            // Waiting for receipts is normal for a while; past the month it is a breach of Art. 12(3).
            let overdue = correction.overdue(at: generatedAt)
            let parties = correction.waiting.map {
                $0.chases > 0 ? "\($0.party) (sent \($0.chases + 1) times)" : $0.party
            }
            found.append(
                Finding(
                    level: overdue ? .critical : .warning, subject: "correction \(correction.id.prefix(8))",
                    message: "\(correction.action): \(correction.confirmed) of \(correction.recipients) recipients "
                        + "confirmed; waiting for \(parties.joined(separator: ", ")); "
                        + (overdue ? "PAST" : "due") + " \(Format.clock(correction.respondBy))"))
        }
        for breach in breaches ?? [] {
            let left = breach.reportBy.timeIntervalSince(generatedAt)
            found.append(
                Finding(
                    level: left <= 24 * 3600 ? .critical : .warning, subject: "breach \(breach.id.prefix(8))",
                    message: "open, \(breach.parties.count) parties told, \(breach.people) people; "
                        + (left > 0
                            ? "report to the ICO by \(Format.clock(breach.reportBy)) (\(Format.age(left)) left)"
                            : "the 72 hours ended \(Format.clock(breach.reportBy))")
                        + "; close it with mashctl breach close"))
        }
        for party in neverHeard ?? [] {
            found.append(
                Finding(
                    level: .warning, subject: party,
                    message: "never heard from: no heartbeat has reached the hub (is it running, with its key?)"))
        }
        for feed in rollFeeds ?? [] where feed.overdue(at: generatedAt) {
            found.append(
                Finding(
                    level: .warning, subject: "school \(feed.urn) roll feed",
                    message:
                        "overdue: the last accepted feed was \(Format.age(generatedAt.timeIntervalSince(feed.lastAcceptedAt ?? generatedAt))) ago, "
                        + "expected every \(feed.everyDays) day\(feed.everyDays == 1 ? "" : "s")"))
        }
        let waiting = (rollFeeds ?? []).filter { $0.lastAcceptedAt == nil }.map(\.urn)
        if !waiting.isEmpty {
            notes.append(
                "No roll feed accepted yet from school\(waiting.count == 1 ? "" : "s") \(waiting.joined(separator: ", "))."
            )
        }
        for day in untriagedDANs ?? [] {
            found.append(
                Finding(
                    level: .critical, subject: "DAN triage \(day.date)",
                    message:
                        "\(day.untriaged) DAN\(day.untriaged == 1 ? "" : "s") still untriaged on a later working day"))
        }
        if let overdue = encompassOverdue, overdue > 0 {
            found.append(
                Finding(
                    level: .critical, subject: "Encompass",
                    message: "\(overdue) notice\(overdue == 1 ? "" : "s") past the school day's start with no receipt"))
        }
        for (authority, overdue) in (returnInterviewsOverdue ?? [:]).sorted(by: { $0.key < $1.key }) where overdue > 0 {
            found.append(
                Finding(
                    level: .critical, subject: "Missing \(authority)",
                    message:
                        "\(overdue) return interview\(overdue == 1 ? "" : "s") not held within 72 hours of the child's return (mashctl missing list)"
                ))
        }
        if let overdue = challengesOverdue, overdue > 0 {
            found.append(
                Finding(
                    level: .warning, subject: "Challenges",
                    message:
                        "\(overdue) of \(challengesOpen ?? overdue) open challenge\((challengesOpen ?? overdue) == 1 ? "" : "s") "
                        + "past their stage's time (mashctl challenges list)"))
        }
        for refusal in refusals ?? [] {
            found.append(
                Finding(
                    level: .warning, subject: refusal.party,
                    message: "refused \(refusal.count) message\(refusal.count == 1 ? "" : "s") in the last 24 h: "
                        + "\(refusal.reason) (mashctl dlq list shows which)"))
        }
        if let backlog = outboxBacklog, backlog > 0 {
            let level = thresholds.outboxBacklog.level(of: backlog)
            if level > .healthy {
                found.append(
                    Finding(level: level, subject: "coordinator outbox", message: "\(backlog) messages not published"))
            }
        }
        findings = found.sorted { ($0.level, $1.subject) > ($1.level, $0.subject) }
        level = findings.map(\.level).max() ?? .healthy
    }

    /// The human view, at most 80 columns wide.
    func table() -> String {
        var lines: [String] = []
        let header = Format.row([
            ("AGENCY", -13), ("QUEUE", -10), ("TYPE", -6), ("READY", 5), ("UNACK", 5), ("CONS", 4), ("PUB/s", 5),
            ("DLV/s", 5), ("ACK/s", 5), ("OLDEST", 6), ("DLQ", 4),
        ])
        lines.append(header)
        for queue in queues {
            lines.append(
                Format.row([
                    (queue.agency, -13), (Format.shortName(queue.queue), -10), (queue.type ?? "?", -6),
                    (Format.count(queue.ready), 5), (Format.count(queue.unacked), 5),
                    (Format.count(queue.consumers), 4),
                    (Format.rate(queue.publishRate), 5), (Format.rate(queue.deliverRate), 5),
                    (Format.rate(queue.ackRate), 5),
                    (
                        queue.oldestWaitingSeconds.map(Format.age)
                            ?? ((queue.ready ?? 0) > 0 ? "?" : "-"), 6
                    ),
                    (Format.count(queue.deadLetters), 4),
                ]))
        }
        if !unknownColumns.isEmpty {
            lines.append("Unknown (\(source)): \(unknownColumns.joined(separator: ", ")).")
        }
        if unknownColumns.isEmpty {
            // The management API's figures lag by its statistics interval; passive declares are exact.
            let age =
                managementSampledAt.map { "sampled at most \(Format.age(Date().timeIntervalSince($0))) ago" }
                ?? "not sampled yet"
            lines += Format.wrap(
                "TYPE, UNACK and the rates: management API, \(age); READY and CONS: exact now (AMQP).", 80)
        }
        lines.append("")
        if let adapters {
            lines.append(
                Format.row([
                    ("ADAPTER/DESK", -16), ("HEARTBEAT", -12), ("PENDING", 7), ("LAST ANSWER", -12),
                    ("VERSION", -10),
                ]))
            if adapters.isEmpty { lines.append("(no adapter or desk has sent a heartbeat yet)") }
            for adapter in adapters {
                lines.append(
                    Format.row([
                        (adapter.agency, -16),
                        (
                            adapter.lastHeartbeatAt.map { Format.age(generatedAt.timeIntervalSince($0)) + " ago" }
                                ?? "never", -12
                        ),
                        (String(adapter.pending), 7),
                        (
                            adapter.lastResponseAt.map { Format.age(generatedAt.timeIntervalSince($0)) + " ago" }
                                ?? "never", -12
                        ),
                        (adapter.version ?? "?", -10),
                    ]))
            }
            lines.append("")
        }
        if let enquiries {
            lines.append(
                Format.row([
                    ("OPEN ENQUIRIES", -14), ("OPEN", 6), ("AT RISK", 8), ("BREACHED", 9), ("DECIDING", 9),
                    ("LATE", 5),
                ]))
            for summary in enquiries {
                lines.append(
                    Format.row([
                        (summary.rag, -14), (String(summary.open), 6), (String(summary.atRisk), 8),
                        (String(summary.breached), 9), (String(summary.awaitingDecision), 9),
                        (String(summary.decisionOverdue), 5),
                    ]))
            }
            lines.append("")
        }
        for note in notes { lines += Format.wrap(note, 80) }
        for finding in findings {
            lines += Format.wrap("\(finding.level.label) \(finding.subject): \(finding.message)", 80)
        }
        lines.append(
            level == .healthy
                ? "Status: healthy (exit 0)." : "Status: \(level.label) (exit \(level.rawValue)).")
        return lines.map { Format.fit($0, 80) }.joined(separator: "\n") + "\n"
    }
}

enum Format {
    /// Cells padded to their widths: negative widths align left, positive right.
    static func row(_ cells: [(String, Int)]) -> String {
        cells.map { text, width in
            let size = abs(width)
            let fitted = fit(text, size)
            let padding = String(repeating: " ", count: max(0, size - fitted.count))
            return width < 0 ? fitted + padding : padding + fitted
        }.joined(separator: " ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }

    /// Words on lines of at most `width` columns; continuation lines are indented by two.
    static func wrap(_ text: String, _ width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, line.count + 1 + word.count > width {
                lines.append(line)
                line = "  "
            }
            line += (line.isEmpty || line == "  " ? "" : " ") + word
        }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(line) }
        return lines
    }

    static func fit(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(width - 1)) + "~"
    }

    static func count(_ value: Int?) -> String { value.map(String.init) ?? "?" }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "?" }
        return value >= 1000 ? String(format: "%.0fk", value / 1000) : String(format: "%.1f", value)
    }

    /// `42s`, `12m04s`, `3h05m`, `2d04h`.
    static func age(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds))
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        if total < 86400 { return String(format: "%dh%02dm", total / 3600, total % 3600 / 60) }
        return String(format: "%dd%02dh", total / 86400, total % 86400 / 3600)
    }

    /// The owner of a queue: the agency of `agency.<id>.<name>`, otherwise what precedes the last dot.
    static func owner(_ queue: String) -> String {
        let parts = queue.split(separator: ".").map(String.init)
        if parts.count == 3, parts[0] == "agency" { return parts[1] }
        return parts.count > 1 ? parts.dropLast().joined(separator: ".") : queue
    }

    static func shortName(_ queue: String) -> String {
        queue.split(separator: ".").last.map(String.init) ?? queue
    }
}
