import Foundation
import MASHCore
import MASHTesting
import Testing

extension CoordinatorBrokerTests {
    /// The operators' kit checked against the real thing (#20): Debian's Prometheus scraping a running
    /// coordinator, adapter and broker with the shipped rules, and the shipped dashboard's queries.
    @Suite("Prometheus: the shipped rules on live data, the dashboard's metrics")
    struct PrometheusTests {
        @Test(
            "MASHAdapterSilent fires when the police adapter stops and clears when it returns; the dashboard names exported metrics"
        )
        func liveAlerts() async throws {
            try await Harness.with("prometheus") { harness in
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let coordinatorURL = try #require(coordinator.operationsURL)
                let config = try harness.shippedConfig("police")
                let adapter = try await harness.startAdapter(config, agency: "police", operationsPort: "0")
                let adapterURL = try Self.operationsURL(in: adapter.log)
                let exporter = try #require(
                    ProcessInfo.processInfo.environment["MASH_BROKER_PROMETHEUS_URL"],
                    "scripts/broker.sh env gives RabbitMQ's exporter")

                let prometheus = try await Prometheus.start(
                    harness,
                    targets: [
                        ("mash-coordinator", coordinatorURL), ("mash-adapter", adapterURL),
                    ], exporter: exporter)

                try await prometheus.until("both services scraped", within: .seconds(60)) {
                    try $0.query("sum(up{job=~\"mash-.*\"})") == 2
                }
                try await prometheus.until("the police heartbeat's age", within: .seconds(30)) {
                    try $0.query("mash_adapter_heartbeat_age_seconds{agency=\"police\"}") != nil
                }
                try await prometheus.until("the police adapter healthy", within: .seconds(30)) {
                    try $0.alert("MASHAdapterSilent", ["agency": "police"]) == nil
                }
                // Health's adapter was never started: the never-heard rule holds it pending (for 15 minutes).
                try await prometheus.until("health pending as never heard", within: .seconds(30)) {
                    try $0.alert("MASHPartyNeverHeard", ["party": "health", "kind": "agency"]) == "pending"
                }

                adapter.stop(SIGKILL)
                try await prometheus.until("MASHAdapterSilent firing for police", within: .seconds(60)) {
                    try $0.alert("MASHAdapterSilent", ["agency": "police"]) == "firing"
                }
                let alerts = try prometheus.get("/api/v1/alerts")
                #expect(alerts.contains("\"rota\":\"it-operations\""), "\(alerts)")

                try await harness.startAdapter(config, agency: "police", log: harness.scratch.file("adapter-2.log"))
                try await prometheus.until("MASHAdapterSilent cleared", within: .seconds(60)) {
                    try $0.alert("MASHAdapterSilent", ["agency": "police"]) == nil
                }

                // Every metric a dashboard panel or a rule names is one the services (or the broker's exporter)
                // export: seen by this Prometheus, or, for counters that appear only once something happens,
                // recorded under that name in the sources. Recorded series must be defined by the rules.
                let live = try prometheus.names()
                #expect(live.contains("rabbitmq_detailed_queue_messages"), "the broker's exporter is scraped")
                let exported = Self.sourceMetricNames()
                let recordings = try Self.recordings()
                var checked: Set<String> = []
                func check(_ expression: String, in place: String) {
                    for name in Self.metricNames(in: expression) where checked.insert(name).inserted {
                        if name.hasPrefix("mash:") {
                            guard let defined = recordings[name] else {
                                Issue.record("\(place): \(name) is not a recording rule in deploy/prometheus/rules")
                                continue
                            }
                            check(defined, in: "the recording rule \(name)")
                        } else if name.hasPrefix("rabbitmq_") {
                            #expect(live.contains(name), "\(place): \(name) is not exported by RabbitMQ")
                        } else {
                            let base = name.replacing(#/_(bucket|sum|count)$/#, with: "")
                            #expect(
                                live.contains(name) || exported.contains(base),
                                "\(place): \(name) is exported by no service")
                        }
                    }
                }
                let dashboard = try Self.dashboardExpressions()
                #expect(dashboard.count >= 20, "the dashboard has its panels")
                for (title, expression) in dashboard { check(expression, in: "panel '\(title)'") }
                for (name, expression) in try Self.alertExpressions() { check(expression, in: "alert \(name)") }
                #expect(checked.contains("mash_party_never_heard") && checked.contains("mash_roll_feed_overdue"))
            }
        }

        static func operationsURL(in log: String) throws -> String {
            let text = try String(contentsOfFile: log, encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.contains("ready (metrics and health: ") })
            return String(try #require(line.split(separator: " ").last?.dropLast()))
        }

        /// `mash_…` and `mash:…` series and `rabbitmq_…` metrics named in a PromQL expression.
        static func metricNames(in expression: String) -> Set<String> {
            Set(expression.matches(of: #/(mash[_:][a-z0-9_:]+|rabbitmq_[a-z0-9_]+)/#).map { String($0.output.1) })
        }

        /// Every `"mash_…"` string the services' sources record a metric under.
        static func sourceMetricNames() -> Set<String> {
            var names: Set<String> = []
            let root = Repository.path("Sources")
            for case let file as String in FileManager.default.enumerator(atPath: root) ?? .init()
            where file.hasSuffix(".swift") {
                let text = (try? String(contentsOfFile: root + "/" + file, encoding: .utf8)) ?? ""
                for match in text.matches(of: #/"(mash_[a-z0-9_]+)"/#) { names.insert(String(match.output.1)) }
            }
            return names
        }

        /// Each recording rule's name and expression.
        static func recordings() throws -> [String: String] {
            let text = try String(
                contentsOfFile: Repository.path("deploy/prometheus/rules/mash-recording.yml"), encoding: .utf8)
            var rules: [String: String] = [:]
            for match in text.matches(of: #/- record: (\S+)\n\s+expr: ([^\n]+)/#) {
                rules[String(match.output.1)] = String(match.output.2)
            }
            return rules
        }

        static func alertExpressions() throws -> [(String, String)] {
            let text = try String(
                contentsOfFile: Repository.path("deploy/prometheus/rules/mash-alerts.yml"), encoding: .utf8)
            return text.matches(of: #/- alert: (\S+)\n\s+expr: ([^\n]+)/#).map {
                (String($0.output.1), String($0.output.2))
            }
        }

        /// Each panel's title and query, from deploy/grafana/mash.json.
        static func dashboardExpressions() throws -> [(String, String)] {
            let data = try #require(FileManager.default.contents(atPath: Repository.path("deploy/grafana/mash.json")))
            let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let panels = try #require(dashboard["panels"] as? [[String: Any]])
            var found: [(String, String)] = []
            for panel in panels where panel["type"] as? String != "row" {
                let title = panel["title"] as? String ?? "?"
                let targets = panel["targets"] as? [[String: Any]] ?? []
                #expect(!targets.isEmpty, "panel '\(title)' has a query")
                for target in targets { found.append((title, try #require(target["expr"] as? String))) }
            }
            return found
        }
    }
}

/// Debian's Prometheus, started for one test: the shipped rule files, a one-second scrape and evaluation, the
/// given targets, and the broker's exporter for the test's own vhost.
struct Prometheus {
    struct Missing: Error, CustomStringConvertible {
        var description: String
    }

    var base: String

    static func start(_ harness: Harness, targets: [(String, String)], exporter: String) async throws -> Prometheus {
        let port = try Shell.run(
            "/usr/bin/env",
            [
                "python3", "-c",
                "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])",
            ]
        ).trimmingCharacters(in: .whitespacesAndNewlines)
        func hostPort(_ url: String) -> String { url.replacingOccurrences(of: "http://", with: "") }
        var scrape = ""
        for (job, url) in targets {
            scrape += """
                  - job_name: \(job)
                    static_configs: [{ targets: ["\(hostPort(url))"] }]

                """
        }
        let rules = Repository.path("deploy/prometheus/rules")
        let config = """
            global: { scrape_interval: 1s, evaluation_interval: 1s }
            rule_files: ["\(rules)/mash-recording.yml", "\(rules)/mash-alerts.yml"]
            scrape_configs:
            \(scrape)  - job_name: rabbitmq
                metrics_path: /metrics/detailed
                params: { vhost: ["\(harness.vhost.name)"], family: [queue_coarse_metrics] }
                static_configs: [{ targets: ["\(hostPort(exporter))"] }]

            """
        let file = harness.scratch.file("prometheus.yml")
        try config.write(toFile: file, atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            throw Missing(description: "Debian's prometheus is not installed (make test installs it)")
        }
        let process = try ChildProcess(
            "/usr/bin/prometheus",
            [
                "--config.file=\(file)", "--storage.tsdb.path=\(harness.scratch.file("tsdb"))",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ], log: harness.scratch.file("prometheus.log"))
        harness.processes.withLock { $0.append(process) }
        let prometheus = Prometheus(base: "http://127.0.0.1:\(port)")
        try await prometheus.until("Prometheus ready", within: .seconds(60)) {
            (try? $0.get("/-/ready"))?.contains("Ready") == true
        }
        return prometheus
    }

    func get(_ path: String) throws -> String {
        try Shell.run("curl", ["-s", "--max-time", "5", "--fail", base + path])
    }

    /// The value of an instant query's only sample; nil when it has none.
    func query(_ promQL: String) throws -> Double? {
        let encoded = promQL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promQL
        let body = try get("/api/v1/query?query=\(encoded)")
        guard let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let result = (answer["data"] as? [String: Any])?["result"] as? [[String: Any]],
            let value = result.first?["value"] as? [Any], let text = value.last as? String
        else { return nil }
        return Double(text)
    }

    /// The state (`pending`, `firing`) of the active alert `name` whose labels include `labels`; nil if none.
    func alert(_ name: String, _ labels: [String: String]) throws -> String? {
        let body = try get("/api/v1/alerts")
        guard let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let alerts = (answer["data"] as? [String: Any])?["alerts"] as? [[String: Any]]
        else { return nil }
        for alert in alerts {
            let have = alert["labels"] as? [String: String] ?? [:]
            if have["alertname"] == name, labels.allSatisfy({ have[$0.key] == $0.value }) {
                return alert["state"] as? String
            }
        }
        return nil
    }

    /// Every metric name this Prometheus has ingested.
    func names() throws -> Set<String> {
        let body = try get("/api/v1/label/__name__/values")
        let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return Set(answer?["data"] as? [String] ?? [])
    }

    /// Waits until `condition` holds of this Prometheus (an answer it cannot give yet counts as not yet).
    func until(
        _ what: String, within limit: Duration, _ condition: @escaping @Sendable (Prometheus) throws -> Bool
    ) async throws {
        try await eventually(what, within: limit) { (try? condition(self)) == true }
    }
}
