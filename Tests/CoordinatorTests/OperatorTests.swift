import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Sealing
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension CoordinatorBrokerTests {
    /// What the people on duty see and do: `mashctl status`, `enquiries`, `dlq`, and the services' metrics.
    @Suite("Operators: status, enquiries, dead-letter replay, metrics")
    struct OperatorTests {
        @Test("status: healthy exits 0; a queue with no consumer and aging messages exits 2 naming it; --json agrees")
        func statusHealthAndJSON() async throws {
            try await Harness.with("status") { harness in
                _ = try await harness.agencies(TestHub.agencies.filter { $0 != "turning-point" })
                try await harness.startInProcess()
                let thresholds = harness.scratch.file("operations.yaml")
                try "oldestWaiting: {warning: 2s, critical: 4s}\n".write(
                    toFile: thresholds, atomically: true, encoding: .utf8)
                let status = ["status", "--thresholds", thresholds] + (try harness.operatorOptions())

                // Turning Point's adapter was never started: the one warning is that it was never heard from.
                let unheard = try await harness.mashctl(status, until: "the test agencies' heartbeats") {
                    $0.output.contains("police ")
                }
                #expect(unheard.status == 1, "\(unheard.output)")
                #expect(
                    unheard.output.contains("WARNING agency turning-point: never heard from"), "\(unheard.output)")
                #expect(unheard.output.split(separator: "\n").filter { $0.hasPrefix("WARNING") }.count == 1)
                #expect(unheard.output.contains(#/\nturning-point +never +0 +never/#), "listed as never heard")
                // Which columns come from the lagging management API, and how old its figures are.
                #expect(
                    flat(unheard.output).contains(
                        #/TYPE, UNACK and the rates: management API, (sampled at most \d+s ago|not sampled yet); READY/#
                    ),
                    "\(unheard.output)")

                // A heartbeat (with no consumer on its queue) and it is heard: healthy.
                try await harness.heartbeat(from: "turning-point")
                let healthy = try await harness.mashctl(status, until: "turning-point heard") { $0.status == 0 }
                #expect(healthy.status == 0, "\(healthy.output)")
                #expect(healthy.output.contains("Status: healthy (exit 0)."))

                // Turning Point has no consumer: its request waits and ages past the critical threshold.
                let enquiry = TestHub.enquiry(rag: .red)
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("the package without Turning Point") {
                    try harness.query { db in
                        try String.fetchOne(db, sql: "SELECT status FROM enquiry WHERE id = ?", arguments: [enquiry.id])
                    } == "complete"
                }
                var critical = try await harness.mashctl(status)
                for _ in 0..<30 where critical.status != 2 {
                    try await Task.sleep(for: .seconds(1))
                    critical = try await harness.mashctl(status)
                }
                #expect(
                    critical.output.contains(
                        "CRITICAL agency.turning-point.enquiries: 2 waiting with no consumer, oldest"),
                    "\(critical.output)")
                // A new vhost's queues get their first management sample within its 5 s statistics interval.
                let later = try await harness.mashctl(status, until: "a management sample") {
                    Self.managementAge(in: $0.output) != nil
                }
                let age = try #require(Self.managementAge(in: later.output), "\(later.output)")
                #expect(age <= 11, "at most two statistics intervals old")
                let row = try #require(critical.output.split(separator: "\n").first { $0.hasPrefix("turning-point ") })
                let cells = row.split(separator: " ", omittingEmptySubsequences: true)
                // The request, and its cancellation once the package went without Turning Point.
                #expect(cells[3] == "2" && cells[5] == "0", "READY 2, CONS 0: \(row)")
                #expect(cells[9].hasSuffix("s") && cells[9] != "-", "OLDEST is an age: \(row)")

                // --json: the same figures as the table, row by row.
                let json = try await harness.mashctl(status + ["--json"])
                #expect(json.status == 2)
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
                let queues = try #require(report["queues"] as? [[String: Any]])
                let table = try await harness.mashctl(status)
                let rows = table.output.split(separator: "\n").map { $0.split(separator: " ") }
                for queue in queues {
                    let name = try #require(queue["queue"] as? String)
                    let agency = queue["agency"] as? String ?? ""
                    let shown = agency.count <= 13 ? agency : agency.prefix(12) + "~"
                    // Long queue names are cut to the column with a "~", as agency names are.
                    let short = String(name.split(separator: ".").last ?? "")
                    let row = try #require(
                        rows.first {
                            $0.count == 11 && $0[0] == shown
                                && (short == $0[1] || ($0[1].hasSuffix("~") && short.hasPrefix($0[1].dropLast())))
                        }, "a table row for \(name)")
                    #expect(String(row[3]) == "\(queue["ready"] as? Int ?? -1)", "ready of \(name)")
                    #expect(String(row[4]) == "\(queue["unacked"] as? Int ?? -1)", "unacked of \(name)")
                    #expect(String(row[5]) == "\(queue["consumers"] as? Int ?? -1)", "consumers of \(name)")
                    #expect(String(row[10]) == "\(queue["deadLetters"] as? Int ?? -1)", "DLQ depth of \(name)")
                }
                #expect(queues.count == rows.filter { $0.count == 11 && $0[2] == "quorum" }.count)
                let findings = try #require(report["findings"] as? [[String: Any]])
                #expect(findings.contains { $0["subject"] as? String == "agency.turning-point.enquiries" })
                let enquiries = try #require(report["enquiries"] as? [[String: Any]])
                #expect(enquiries.map { $0["rag"] as? String } == ["red", "amber", "green"])

                // Without the management API: passive declares, with the unknown columns named.
                var fallback = status
                fallback[fallback.firstIndex(of: "--management")! + 1] = "http://127.0.0.1:1"
                let declared = try await harness.mashctl(fallback)
                #expect(declared.status == 2)
                #expect(declared.output.contains("Unknown (AMQP passive declares): TYPE, UNACK, PUB/s, DLV/s, ACK/s."))
                #expect(declared.output.contains("CRITICAL agency.turning-point.enquiries"))

                // The enquiry views: the list and one enquiry's matrix and timeline, with the package opened
                // only with the decision maker's key.
                let listed = try await harness.mashctl(["enquiries", "--rag", "red", "--store", harness.store])
                #expect(listed.status == 0)
                #expect(listed.output.contains("\(enquiry.id) red   complete"), "\(listed.output)")
                let shown = try await harness.mashctl(["enquiry", "show", enquiry.id, "--store", harness.store])
                #expect(shown.output.contains("turning-point  no        cancelled -"), "\(shown.output)")
                #expect(shown.output.contains("Not answered: ") == false)
                #expect(shown.output.contains("opened"))
                #expect(!shown.output.contains("Testperson"), "no content without the key")
                let opening = [
                    // The decision maker's key folder: whichever of its keys (signing, encryption) it was sealed to.
                    "enquiry", "show", enquiry.id, "--key", harness.hub.keys.path + "/decision-maker",
                    "--trust", harness.hub.keys.path, "--keys", harness.hub.keys.path,
                ]
                let unreasoned = try await harness.mashctl(
                    opening + ["--staff", "a.ahmed"] + harness.operatorOptions())
                #expect(unreasoned.status == 64 && unreasoned.output.contains("--reason"), "\(unreasoned.output)")
                let opened = try await harness.mashctl(
                    opening + ["--staff", "a.ahmed", "--reason", "C-2026-31"] + harness.operatorOptions())
                #expect(opened.status == 0, "\(opened.output)")
                #expect(opened.output.contains("DECISION PACKAGE") && opened.output.contains("Testperson"))
                let views = try await harness.mashctl(["audit", "views", "--store", harness.store])
                #expect(
                    views.output.split(separator: "\n").contains {
                        $0.contains("a.ahmed") && $0.contains("enquiry \(enquiry.id): C-2026-31")
                    }, "the view is listed: \(views.output)")

                try captureScreen(status, harness: harness)
            }
        }

        /// Runs `mashctl status` in a real 80-column terminal (tmux), keeps the captured screen in
        /// .build/test-output/ and checks that the table fits.
        func captureScreen(_ status: [String], harness: Harness) throws {
            let session = "mash-status-\(UUID().uuidString.prefix(8))"
            let command = ([ChildProcess.built("mashctl")] + status).map { "'\($0)'" }.joined(separator: " ")
            try Shell.run("tmux", ["new-session", "-d", "-s", session, "-x", "80", "-y", "80", command + "; sleep 60"])
            defer { _ = try? Shell.run("tmux", ["kill-session", "-t", session]) }
            var screen = ""
            for _ in 0..<100 where !screen.contains("Status: ") {
                usleep(100_000)
                screen = try Shell.run("tmux", ["capture-pane", "-p", "-t", session])
            }
            let folder = Repository.path(".build/test-output")
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try screen.write(toFile: folder + "/mashctl-status-screen.txt", atomically: true, encoding: .utf8)
            #expect(screen.contains("AGENCY        QUEUE      TYPE   READY UNACK CONS PUB/s DLV/s ACK/s OLDEST  DLQ"))
            #expect(screen.contains("turning-point enquiries  quorum"))
            #expect(screen.contains("Status: CRITICAL (exit 2)."))
            #expect(screen.split(separator: "\n").allSatisfy { $0.count <= 80 })
        }

        @Test("dlq replay: refused without --reason; after the fix, the poison message is delivered once and audited")
        func deadLetterReplay() async throws {
            // Early Help is routed before its key exists: the enquiry cannot be sealed to it and is dead-lettered.
            let routing = try Harness.routing(
                adding: """
                      early-help:
                        mandatory: false
                        receives: [forename, surname, dateOfBirth, postcode]

                    """
            ).replacingOccurrences(
                of: "green: [police, health, education]", with: "green: [police, health, education, early-help]")
            try await Harness.with("dlq-replay", routing: routing) { harness in
                _ = try await harness.agencies(["police", "health", "education"])
                try harness.signatory("early-help")
                try await harness.startInProcess()
                try await harness.admin.purge(queue: "agency.early-help.enquiries")
                let enquiry = TestHub.enquiry(rag: .green)
                try await harness.send(enquiry.json, type: .enquiry)
                let options = try harness.operatorOptions()
                // A replay is recorded by the coordinator at the operator's request, signed with their own key.
                let replayOptions = options + ["--keys", harness.hub.keys.path, "--staff", "j.smith"]
                for _ in 0..<100
                where try await harness.admin.inspect(queue: "coordinator.intake.dlq").messageCount == 0 {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try await harness.admin.inspect(queue: "coordinator.intake.dlq").messageCount == 1)

                let listed = try await harness.mashctl(["dlq", "list", "--queue", "coordinator.intake"] + options)
                #expect(listed.status == 0, "\(listed.output)")
                #expect(listed.output.contains("coordinator.intake.dlq: 1 message"))
                #expect(listed.output.contains("cannotSeal"))
                let shown = try await harness.mashctl(
                    [
                        "dlq", "show", "--queue", "coordinator.intake.dlq", "--reason", "INC-1234", "--message",
                        try #require(
                            listed.output.split(separator: "\n").dropFirst(2).first?.split(separator: " ")[1]
                        ).description,
                    ]
                        + replayOptions)
                #expect(shown.output.contains("\"reason\" : \"cannotSeal\""), "\(shown.output)")
                #expect(shown.output.contains("early-help"), "the detail names the addressee without a key")

                let unreasoned = try await harness.mashctl(
                    ["dlq", "replay", "--queue", "coordinator.intake"] + replayOptions)
                #expect(unreasoned.status == 64)
                #expect(unreasoned.output.contains("--reason"))
                #expect(try await harness.admin.inspect(queue: "coordinator.intake.dlq").messageCount == 1)

                // The fix: Early Help's key is added. Then the replay, audited.
                _ = try Shell.run(
                    ChildProcess.built("mashctl"),
                    ["keys", "generate", "--agency", "early-help", "--out", harness.hub.keys.path])
                let replayed = try await harness.mashctl(
                    [
                        "dlq", "replay", "--queue", "coordinator.intake", "--reason", "Early Help key added",
                    ]
                        + replayOptions)
                #expect(replayed.status == 0, "\(replayed.output)")
                #expect(replayed.output.contains("1 of 1 message in coordinator.intake.dlq selected for replay"))
                try await harness.eventually("the enquiry opened from the replay") {
                    try harness.query { db in
                        try Int.fetchOne(
                            db, sql: "SELECT COUNT(*) FROM request WHERE enquiry_id = ?", arguments: [enquiry.id])
                    } == 4
                }
                let again = try await harness.mashctl(
                    ["dlq", "replay", "--queue", "coordinator.intake", "--reason", "again"]
                        + replayOptions)
                #expect(again.output.contains("0 of 0 messages"), "\(again.output)")
                try await Task.sleep(for: .seconds(1))
                // Once: one request to Early Help (and its cancellation, as the package went without it), and one
                // inbox entry for the replayed message.
                #expect(try await harness.admin.inspect(queue: "agency.early-help.enquiries").messageCount == 2)
                #expect(
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM inbox WHERE outcome = 'enquiry'")
                    }
                        == 1)
                #expect(try await harness.admin.inspect(queue: "coordinator.intake.dlq").messageCount == 0)
                let audit = try harness.query { db in
                    try Row.fetchAll(
                        db,
                        sql:
                            "SELECT sender, recipient, purpose FROM record_of_sharing WHERE purpose LIKE 'dead-letter%'"
                    )
                }
                #expect(audit.count == 1)
                #expect(audit.first?["sender"] == "operator:j.smith")
                #expect(audit.first?["recipient"] == "coordinator.intake")
                #expect(audit.first?["purpose"] == "dead-letter replay: Early Help key added")
                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verified.status == 0, "\(verified.output)")
                try await harness.admin.purge(queue: "agency.early-help.enquiries")
            }
        }

        @Test(
            """
            cases import: checked here (a bad row names its line, nothing sent), applied by the coordinator and \
            recorded; an operator request from another party, or read after it expired, is refused with its reason
            """)
        func operatorRequests() async throws {
            try await Harness.with("operator-requests") { harness in
                try await harness.startInProcess()
                let options = try harness.operatorOptions()
                let broker = try #require(options.firstIndex(of: "--broker").map { options[$0 + 1] })
                let store = ["--store", harness.store]
                let bad = harness.scratch.file("bad.csv")
                try
                    "Forename,Surname,DOB,SocialWorker,Team,Status\nAmy,Test,2015-02-03,J Smith,North,open\nBen,Test,03/2016,,,open\n"
                    .write(toFile: bad, atomically: true, encoding: .utf8)
                let refused = try await harness.mashctl(
                    ["cases", "import", bad, "--keys", harness.hub.keys.path, "--broker", broker, "--staff", "j.smith"]
                        + store)
                #expect(refused.status != 0)
                #expect(refused.output.contains("line 3 DOB"), "\(refused.output)")
                #expect(try await harness.admin.inspect(queue: "coordinator.notifications").messageCount == 0)
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM operator_action") } == 0)

                let good = harness.scratch.file("cases.csv")
                try """
                Forename,Surname,DOB,SocialWorker,Team,Status
                Amy,Test,2015-02-03,J Smith,North,open
                Ben,Test,2016-03-04,K Jones,,open
                Cal,Test,2017-04-05,,,closed

                """.write(toFile: good, atomically: true, encoding: .utf8)
                let imported = try await harness.mashctl(
                    [
                        "cases", "import", good, "--keys", harness.hub.keys.path, "--broker", broker, "--staff",
                        "j.smith",
                    ]
                        + store)
                #expect(imported.status == 0, "\(imported.output)")
                #expect(imported.output.contains("cases.csv: 2 open, 1 closed"), "\(imported.output)")
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM open_case") } == 2)
                let action = try harness.query { db in
                    try Row.fetchOne(db, sql: "SELECT kind, sender, operator, summary FROM operator_action")
                }
                #expect(action?["kind"] == "open-case-import")
                #expect(action?["sender"] == "j.smith")
                #expect(action?["operator"] == "j.smith")

                // The SPA may not send operator requests, whatever it signs: it is not a member of staff.
                let cases = try OpenCaseRegisterImport.cases(
                    csv: Array(try String(contentsOfFile: good, encoding: .utf8).utf8), source: "cases.csv")
                try await harness.send(
                    OpenCaseRegisterImport(importedBy: "j.smith", source: "cases.csv", cases: cases).json,
                    type: .openCaseRegister, from: "spa", routingKey: "operator")
                let deadLetters = try await harness.admin.consume(queue: "coordinator.notifications.dlq", prefetch: 1)
                let notAllowed = try await deadLetters.next(within: .seconds(30), "the SPA's operator request")
                #expect(notAllowed.properties.headers["x-mash-reason"] == .string("notStaff"))
                try notAllowed.ack()

                // A replay request read after it expired records nothing.
                let replay = DeadLetterReplay(
                    replayedBy: "j.smith", queue: "coordinator.intake", reason: "late",
                    at: Date(timeIntervalSinceNow: -120),
                    expiresAt: Date(timeIntervalSinceNow: -90),
                    messages: [DeadLetterReplay.Message(messageID: UUID().uuidString.lowercased(), enquiryID: nil)])
                try await harness.send(
                    replay.json, type: .deadLetterReplay, from: "j.smith", routingKey: "operator", user: "operator")
                let expired = try await deadLetters.next(within: .seconds(30), "the expired replay request")
                #expect(expired.properties.headers["x-mash-reason"] == .string("expired"))
                try expired.ack()
                #expect(
                    try harness.query {
                        try Int.fetchOne(
                            $0, sql: "SELECT COUNT(*) FROM record_of_sharing WHERE purpose LIKE 'dead-letter%'")
                    } == 0)
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM operator_action") } == 1)
            }
        }

        @Test("/metrics scraped during enquiries shows the counts moving; /health answers")
        func metricsMove() async throws {
            try await Harness.with("metrics") { harness in
                _ = try await harness.agencies(["police", "health", "education"])
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let base = try #require(coordinator.operationsURL)
                let before = try scrape(base + "/metrics")
                #expect(value(before, "mash_messages_received_total", ["queue": "coordinator.intake"]) == nil)
                #expect(value(before, "mash_open_enquiries", ["rag": "green"]) == 0)

                let enquiries = (0..<3).map { _ in TestHub.enquiry(rag: .green) }
                for enquiry in enquiries { try await harness.send(enquiry.json, type: .enquiry) }
                try await harness.eventually("three packages") {
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry WHERE status = 'complete'")
                    }
                        == 3
                }
                var after = try scrape(base + "/metrics")
                for _ in 0..<50 where value(after, "mash_outbox_backlog", [:]) != 0 {
                    try await Task.sleep(for: .milliseconds(100))
                    after = try scrape(base + "/metrics")
                }
                #expect(
                    value(
                        after, "mash_messages_received_total", ["queue": "coordinator.intake", "outcome": "processed"])
                        == 3)
                // Nine answers, and the start-up heartbeat of each of the three agencies.
                #expect(
                    value(
                        after, "mash_messages_received_total",
                        ["queue": "coordinator.responses", "outcome": "processed"])
                        == 12)
                for agency in ["police", "health", "education"] {
                    #expect(value(after, "mash_answers_total", ["agency": agency]) == 3, "answers from \(agency)")
                }
                #expect(value(after, "mash_messages_published_total", ["type": "mash.research-request/1"]) == 9)
                #expect(value(after, "mash_open_enquiries", ["rag": "green"]) == 0)
                // The three packages wait for their decisions, none past its deadline yet.
                #expect(value(after, "mash_enquiries_awaiting_decision", ["rag": "green"]) == 3)
                #expect(value(after, "mash_decisions_overdue", ["rag": "green"]) == 0)
                #expect(value(after, "mash_outbox_backlog", [:]) == 0)
                #expect(value(after, "mash_broker_connected", [:]) == 1)
                #expect(!after.contains("Testperson") && !after.contains("Ellie"))

                let health = try scrape(base + "/health")
                #expect(health.contains("\"status\":\"ok\""), "\(health)")

                // An adapter serves its own: started from its shipped file on a free port.
                let config = try harness.shippedConfig("police")
                let adapter = try await harness.startAdapter(config, agency: "police", operationsPort: "0")
                let line = try String(contentsOfFile: adapter.log, encoding: .utf8)
                let adapterBase = try #require(
                    line.split(separator: "\n").first { $0.contains("ready (metrics and health: ") }?
                        .split(separator: " ").last?.dropLast().description)
                let adapterMetrics = try scrape(adapterBase + "/metrics")
                #expect(value(adapterMetrics, "mash_broker_connected", [:]) == 1)
                #expect(adapterMetrics.contains("mash_adapter_requests{status=\"pending\"}"))
                #expect(try scrape(adapterBase + "/health").contains("\"status\":\"ok\""))
            }
        }

        /// How old status says the management API's figures are at most, in seconds; nil before its first sample.
        static func managementAge(in output: String) -> Int? {
            let line = output.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
            return line.firstMatch(of: #/management API, sampled at most (\d+)s ago; READY and CONS: exact now/#)
                .flatMap { Int($0.output.1) }
        }

        /// The text on one line: status wraps its notes at 80 columns.
        func flat(_ text: String) -> String {
            text.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
        }

        /// The value of the sample of `name` whose labels include `labels`; nil when there is none.
        func value(_ exposition: String, _ name: String, _ labels: [String: String]) -> Double? {
            Exposition(text: exposition).value(name, labels)
        }

        func scrape(_ url: String) throws -> String {
            try Shell.run("curl", ["-s", "--max-time", "5", url])
        }
    }
}
