import AMQP
import ArgumentParser
import Foundation
import MASHConfig
import MASHCore
import MASHProtocol
import MASHReadModel

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Where the operator's view of the hub comes from: the broker (management API, else AMQP), the
/// coordinator's store, and the topology.
struct HubOptions: ParsableArguments {
    @Option(
        help: """
            Broker URL as the operator user (monitoring, and dead-letter replay). Default: $MASH_OPERATOR_URL.
            """)
    var broker: String?

    @Option(
        help: """
            RabbitMQ management API base URL (http://host:15672). Its user and password are the broker URL's. \
            Default: $MASH_BROKER_MANAGEMENT_URL. Without it, queues are read by AMQP passive declares.
            """)
    var management: String?

    @OptionGroup var storeOption: StoreOption

    @Option(help: "RabbitMQ definitions: the queues to report when the management API is not available.")
    var definitions: String = "deploy/rabbitmq/definitions.json"

    @Option(help: "Routing rules: agencies onboarded without a definitions entry have queues too.")
    var routing: String = "Config/routing.yaml"

    @Option(name: .customLong("schools"), help: "Folder of <urn>.yaml school files: each school's notice queue.")
    var schoolsDirectory: String = "Config/schools"

    @Option(help: "Folder of the desks' <party>.yaml files: each desk is expected to send heartbeats.")
    var desks: String = "Config/desks"

    @Option(help: "GOV.UK's bank holidays file the coordinator uses: status warns 90 days before it ends.")
    var holidays: String = "Config/calendar/bank-holidays.json"

    @Option(help: "Who has signed the agreement: status warns 90 days before a party's withdrawal.")
    var signatories: String = "Config/signatories.yaml"

    func brokerURL() throws -> AMQPURL {
        guard let url = broker ?? ProcessInfo.processInfo.environment["MASH_OPERATOR_URL"] else {
            throw CommandFailure(
                "no broker: pass --broker amqp://operator:…@host:port/mash or set MASH_OPERATOR_URL")
        }
        return try AMQPURL(url)
    }

    var managementURL: String? { management ?? ProcessInfo.processInfo.environment["MASH_BROKER_MANAGEMENT_URL"] }

    /// The routing file when there is one (a hub may be watched from a host without it).
    func routingConfiguration() throws -> RoutingConfiguration? {
        FileManager.default.fileExists(atPath: routing) ? try RoutingConfiguration.load(file: routing) : nil
    }

    /// The agencies the routing file names (none without it).
    func routedAgencies() throws -> [String] { try routingConfiguration().map { Array($0.agencies.keys) } ?? [] }

    /// The hub's queues from the definitions and routing files: every input queue and its DLQ.
    func topology(vhost: String) throws -> Topology {
        let routing = try routingConfiguration()
        let schools = try SchoolConfiguration.loadDirectory(schoolsDirectory, bankHolidays: [])
        return try HubQueues.topology(
            definitionsFile: definitions, vhost: vhost, agencies: routing.map { Array($0.agencies.keys) } ?? [],
            schoolQueues: schools.values.map(\.noticeQueue), authorities: routing?.missing.authorities ?? [],
            portals: Array(routing?.frontDoor.portals ?? []))
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Queue, adapter and SLA health of the hub at a glance.",
        discussion: """
            One row per queue of the hub (the definitions file, plus an enquiries queue for each agency in the \
            routing file): its agency, type, messages ready and unacknowledged, consumers, publish, deliver \
            and ack rates, the age of the oldest waiting message and the depth of its dead-letter queue. Below: \
            each adapter's last heartbeat and answer, and open enquiries by RAG with how many are at risk (past \
            a warning) and breached (past a deadline), how many packages wait for a decision (DECIDING) and how \
            many of those are past the decision deadline (LATE). With the store on PostgreSQL, which coordinator \
            holds the lease (none holding it is critical). Then what is wrong, worst first.

            Ready messages and consumers are read by AMQP passive declares (exact at that moment); the queue \
            type, unacknowledged counts and rates come from the RabbitMQ management API, and without it the \
            table says which columns are unknown. Quorum queues do not report \
            message ages, so the age of the oldest waiting message comes from the hub's own publish records \
            (the coordinator's outbox): it is known for the queues the hub publishes to, and shown as ? for \
            the others when messages wait.

            Exit status: 0 healthy, 1 warning, 2 critical (thresholds in --thresholds), 3 status unavailable.

            Examples:
              mashctl status
              mashctl status --json | jq '.findings'
              mashctl status --watch --interval 5
            """)

    @OptionGroup var hub: HubOptions

    @Option(help: "Warning and critical thresholds (YAML). Missing entries keep their defaults.")
    var thresholds: String = "Config/operations.yaml"

    @Flag(help: "Print the report as JSON (the same figures as the table).")
    var json = false

    @Flag(help: "Refresh in place until interrupted (Ctrl-C).")
    var watch = false

    @Option(help: "Seconds between refreshes with --watch.")
    var interval: Double = 5

    @Option(
        help: """
            Judge deadlines, the calendar's end and withdrawals as at this time (ISO 8601, e.g. \
            2028-10-01T09:00:00Z) instead of now: a drill of what status will say then. Queue figures are always now.
            """)
    var at: String?

    func run() async throws {
        let limits =
            FileManager.default.fileExists(atPath: thresholds)
            ? try StatusThresholds.load(file: thresholds) : StatusThresholds()
        let url = try hub.brokerURL()
        let fixed = try at.map { try Instant.option($0, "--at") }
        repeat {
            var report = await StatusGatherer(options: hub, broker: url).gather(now: fixed ?? Date())
            report.evaluate(limits)
            let text: String
            if json {
                text = String(decoding: try JSONOutput.encode(report), as: UTF8.self)
            } else {
                text = report.table()
            }
            if watch {
                StandardStreams.write(Array(("\u{1B}[H\u{1B}[2J" + text).utf8))
                try await Task.sleep(for: .seconds(interval))
            } else {
                StandardStreams.write(Array(text.utf8))
                if report.level > .healthy { throw ExitCode(Int32(report.level.rawValue)) }
            }
        } while watch
    }
}

/// Reads the figures for one status report.
struct StatusGatherer {
    var options: HubOptions
    var broker: AMQPURL

    func gather(now: Date) async -> StatusReport {
        var report = StatusReport(generatedAt: now, source: "management API")
        let topology: Topology
        do {
            topology = try options.topology(vhost: broker.vhost)
        } catch {
            report.findings.append(.init(level: .critical, subject: "topology", message: "\(error)"))
            return report
        }
        // The checkpoints queue is an archive, read without taking: never consumed, so not judged as an input.
        let inputs = topology.queues.map(\.name).filter {
            !$0.hasSuffix(".dlq") && $0 != HubQueues.auditCheckpoints
        }.sorted()
        // Ready and consumer counts come from passive declares, which are exact at this moment; the management
        // API's own counts lag by its statistics interval (5 s by default). It adds type, unacked and rates.
        var figures: [String: StatusReport.Queue]
        do {
            figures = try await passiveDeclares(inputs.flatMap { [$0, $0 + ".dlq"] })
        } catch {
            report.findings.append(
                .init(level: .critical, subject: "broker", message: "cannot read the queues: \(error)"))
            return report
        }
        var failure: String?
        if let management = options.managementURL {
            do {
                let (queues, sampledAt) = try ManagementAPI(base: management, broker: broker).queues()
                report.managementSampledAt = sampledAt
                for (name, extra) in queues {
                    guard var row = figures[name] else { continue }
                    row.type = extra.type
                    row.unacked = extra.unacked
                    row.publishRate = extra.publishRate
                    row.deliverRate = extra.deliverRate
                    row.ackRate = extra.ackRate
                    figures[name] = row
                }
            } catch {
                failure = "\(error)"
            }
        } else {
            failure = "no management URL given"
        }
        if let failure {
            report.source = "AMQP passive declares"
            report.unknownColumns = ["TYPE", "UNACK", "PUB/s", "DLV/s", "ACK/s"]
            report.notes.append("The management API was not used (\(failure)).")
        } else {
            report.source = "AMQP passive declares and the management API"
        }
        let names = inputs
        let store = try? options.storeOption.open()
        if store == nil {
            report.notes.append("No coordinator store at \(options.storeOption.store): adapters and enquiries unknown.")
        }
        for name in names {
            var row = figures[name] ?? StatusReport.Queue(agency: Format.owner(name), queue: name)
            if figures[name] == nil { report.notes.append("\(name) is in the definitions but not on the broker.") }
            let dlq = name + ".dlq"
            if topology.queues.contains(where: { $0.name == dlq }) || figures[dlq] != nil {
                row.deadLetterQueue = dlq
                row.deadLetters = figures[dlq]?.ready.map { $0 + (figures[dlq]?.unacked ?? 0) }
            }
            if let ready = row.ready, ready > 0, let store {
                for binding in topology.bindings where binding.queue == name {
                    if let age = try? store.oldestWaiting(
                        exchange: binding.exchange, routingKey: binding.routingKey, ready: ready, now: now)
                    {
                        row.oldestWaitingSeconds = age
                        break
                    }
                }
            }
            report.queues.append(row)
        }
        report.findings += governance(now: now)
        if let store {
            do {
                report.adapters = try store.adapters().map {
                    StatusReport.Adapter(
                        agency: $0.agency, lastHeartbeatAt: $0.lastHeartbeatAt, lastResponseAt: $0.lastResponseAt,
                        pending: $0.pending, version: $0.version)
                }
                report.enquiries = try store.openEnquiries(now: now)
                report.outboxBacklog = try store.outboxBacklog()
                if let lease = try store.coordinatorLease() {
                    if lease.held {
                        report.notes.append(
                            "The coordinator lease is held by \(lease.holder) (epoch \(lease.epoch)), "
                                + "renewed: \(Int(lease.secondsLeft!.rounded(.up))) s left of its term.")
                    } else {
                        report.findings.append(
                            .init(
                                level: .critical, subject: "coordinator",
                                message: "no coordinator holds the lease (last held by "
                                    + "\(lease.holder.isEmpty ? "none" : lease.holder), epoch \(lease.epoch)): "
                                    + "nothing consumes, relays or fires timers until one takes it"))
                    }
                }
                report.corrections = try store.outstandingCorrections()
                report.breaches = try store.breaches(openOnly: true)
                try watchdogs(store, into: &report, now: now)
            } catch {
                report.notes.append("The coordinator store could not be read: \(error).")
            }
        }
        return report
    }

    /// What fails to arrive: expected parties never heard from, roll feeds past their cadence, triage lists
    /// left untriaged, Encompass notices past due, and what adapters and desks refused in the last day.
    func watchdogs(_ store: HubReadModel, into report: inout StatusReport, now: Date) throws {
        let expected =
            try options.routingConfiguration().map {
                try ExpectedParty.load(routing: $0, desksDirectory: options.desks)
            } ?? []
        let heard = try store.heard(expected)
        for party in heard where party.lastHeartbeatAt == nil {
            report.adapters?.append(
                StatusReport.Adapter(agency: party.party, lastHeartbeatAt: nil, lastResponseAt: nil, pending: 0))
        }
        report.neverHeard = heard.filter { $0.lastHeartbeatAt == nil }.map { "\($0.kind.rawValue) \($0.party)" }
        let holidays = (try? BankHolidays.englandAndWales(file: options.holidays)) ?? []
        let schools = try SchoolConfiguration.loadDirectory(options.schoolsDirectory, bankHolidays: holidays)
        report.rollFeeds = try store.rollFeeds(Array(schools.values))
        report.untriagedDANs = try store.untriagedDANs(calendar: .mash(holidays: holidays), now: now)
        report.encompassOverdue = try store.unacknowledgedEncompassNotices(now: now)
        var overdue: [String: Int] = [:]
        for episode in try store.missingEpisodes(concludedSince: now) where episode.overdue(at: now) {
            overdue[episode.authority ?? "medway", default: 0] += 1
        }
        report.returnInterviewsOverdue = overdue
        let challenges = try store.challenges(resolvedSince: now).filter { $0.resolvedAt == nil }
        report.challengesOpen = challenges.count
        report.challengesOverdue = challenges.filter { $0.overdue(at: now) }.count
        report.refusals = try store.refusalCounts(since: now.addingTimeInterval(-86_400)).map {
            StatusReport.Refusals(party: $0.party, reason: $0.reason, count: $0.count)
        }
    }

    /// The calendar's end and the signatories' withdrawals, from the files the coordinator reads.
    func governance(now: Date) -> [StatusReport.Finding] {
        let today = WorkingCalendar.mash(holidays: []).localDate(of: now)
        var found: [StatusReport.Finding] = []
        do {
            let holidays = try BankHolidays.englandAndWales(file: options.holidays)
            if let finding = GovernanceChecks.calendar(
                lastHoliday: holidays.max(), today: today, file: options.holidays)
            {
                found.append(finding)
            }
        } catch {
            found.append(.init(level: .critical, subject: "calendar", message: "\(error)"))
        }
        if FileManager.default.fileExists(atPath: options.signatories) {
            do {
                found += GovernanceChecks.signatories(
                    try Signatories.load(file: options.signatories), today: today, routed: try options.routedAgencies())
            } catch {
                found.append(.init(level: .critical, subject: "signatories", message: "\(error)"))
            }
        } else {
            found.append(
                .init(
                    level: .warning, subject: "signatories",
                    message: "\(options.signatories) is missing: the coordinator will not start without it"))
        }
        return found
    }

    private func passiveDeclares(_ queues: [String]) async throws -> [String: StatusReport.Queue] {
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: broker, connectionName: "mashctl status"))
        defer { Task { await connection.close() } }
        var figures: [String: StatusReport.Queue] = [:]
        for queue in queues {
            do {
                let state = try await connection.inspect(queue: queue)
                figures[queue] = StatusReport.Queue(
                    agency: Format.owner(queue), queue: queue, ready: state.messageCount,
                    consumers: state.consumerCount)
            } catch let error as AMQPError where error.code == .notFound {
                continue
            }
        }
        return figures
    }
}

/// The few RabbitMQ management API calls `mashctl` makes, as the operator user.
struct ManagementAPI {
    var base: String
    var broker: AMQPURL

    /// The queues' figures, and when the management API last sampled them (its samples are bucketed by its
    /// statistics interval, 5 s by default; the newest bucket's start is given, so the age is an upper bound).
    func queues() throws -> ([String: StatusReport.Queue], sampledAt: Date?) {
        let vhost = broker.vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? broker.vhost
        let body = try get("/api/queues/\(vhost)?lengths_age=10&lengths_incr=5")
        guard let list = try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else {
            throw CommandFailure("the management API's queue list is not a JSON array")
        }
        var figures: [String: StatusReport.Queue] = [:]
        var newest: Double?
        for item in list {
            guard let name = item["name"] as? String else { continue }
            let samples = (item["messages_details"] as? [String: Any])?["samples"] as? [[String: Any]] ?? []
            for sample in samples {
                if let stamp = (sample["timestamp"] as? NSNumber)?.doubleValue { newest = max(newest ?? stamp, stamp) }
            }
            let stats = item["message_stats"] as? [String: Any]
            func rate(_ key: String) -> Double {
                ((stats?[key] as? [String: Any])?["rate"] as? NSNumber)?.doubleValue ?? 0
            }
            figures[name] = StatusReport.Queue(
                agency: Format.owner(name), queue: name, type: item["type"] as? String,
                ready: (item["messages_ready"] as? NSNumber)?.intValue ?? 0,
                unacked: (item["messages_unacknowledged"] as? NSNumber)?.intValue ?? 0,
                consumers: (item["consumers"] as? NSNumber)?.intValue ?? 0, publishRate: rate("publish_details"),
                deliverRate: rate("deliver_get_details"), ackRate: rate("ack_details"))
        }
        return (figures, newest.map { Date(timeIntervalSince1970: $0 / 1000 - Self.statisticsInterval) })
    }

    /// RabbitMQ's `collect_statistics_interval` default, in seconds.
    static let statisticsInterval: TimeInterval = 5

    func get(_ path: String) throws -> [UInt8] {
        guard var components = URLComponents(string: base.hasSuffix("/") ? String(base.dropLast()) : base) else {
            throw CommandFailure("'\(base)' is not a URL")
        }
        let user = components.user ?? broker.user
        let password = components.password ?? broker.password
        components.user = nil
        components.password = nil
        guard let url = URL(string: (components.string ?? base) + path) else {
            throw CommandFailure("'\(base)\(path)' is not a URL")
        }
        var request = URLRequest(url: url, timeoutInterval: 5)
        let credentials = Data("\(user):\(password)".utf8).base64EncodedString()
        request.setValue("Basic \(credentials)", forHTTPHeaderField: "Authorization")
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 5
        let session = URLSession(configuration: configuration)
        defer { session.finishTasksAndInvalidate() }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<(Int, Data), any Error> = .failure(CommandFailure("no answer"))
        session.dataTask(with: request) { data, response, error in
            if let error {
                outcome = .failure(CommandFailure("\(url.host ?? base) did not answer (\(error.localizedDescription))"))
            } else {
                outcome = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }
            done.signal()
        }.resume()
        done.wait()
        let (status, data) = try outcome.get()
        guard status == 200 else {
            throw CommandFailure(
                status == 401
                    ? "the management API refused user '\(user)' (HTTP 401)"
                    : "the management API answered HTTP \(status) for \(path)")
        }
        return Array(data)
    }
}
