import AMQP
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    @Suite("Adapters against the real broker")
    struct AdapterTests {
        @Test("the seven shipped configurations start and answer a coordinator enquiry end to end")
        func sevenAgencies() async throws {
            try await Harness.with("adapters-seven", routing: try Harness.allMandatoryRouting()) { harness in
                try await harness.startInProcess()
                for agency in TestHub.agencies {
                    try await harness.startAdapter(try harness.shippedConfig(agency), agency: agency)
                }
                let enquiry = TestHub.enquiry(rag: .red)
                try await harness.send(enquiry.json, type: .enquiry)
                let opened = try await harness.take(
                    1, from: "decision-maker.packages", as: "decision-maker", within: .seconds(60))
                let package = try DecisionPackage(json: opened[0].payload, source: "package")
                #expect(package.enquiry.id == enquiry.id)
                let byAgency = Dictionary(uniqueKeysWithValues: package.responses.map { ($0.agency, $0) })
                #expect(Set(byAgency.keys) == Set(TestHub.agencies))

                // The sample child is in every extract, recorded a little differently by each agency.
                let police = try #require(byAgency["police"])
                #expect(police.outcome == .informationHeld)
                #expect(police.findings.contains { $0.category == .criminalOffence && $0.match?.band == .match })
                #expect(police.lawfulBasis.article10 == .safeguardingChildren)
                let health = try #require(byAgency["health"])
                #expect(health.findings.contains { $0.category == .specialCategory })
                #expect(health.findings.allSatisfy { ($0.match?.score ?? 0) > 0.5 })
                // Housing holds her at an address she has moved from; still a match on name and birth date.
                #expect(byAgency["housing"]?.outcome == .informationHeld)
                // Probation knows the mother (a household member), not the child.
                let probation = try #require(byAgency["probation"])
                #expect(probation.findings.contains { $0.summary.hasPrefix("Household member (mother)") })
                #expect(!probation.findings.contains { $0.summary.hasPrefix("Subject") })
                // Education is not sent the household, so it can only ever report on the child.
                #expect(byAgency["education"]?.findings.allSatisfy { $0.summary.hasPrefix("Subject") } == true)

                try await harness.eventually("a heartbeat from every adapter") {
                    try harness.query { db in
                        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM adapter WHERE last_heartbeat_at IS NOT NULL")
                    } == TestHub.agencies.count
                }
                let answeredAt = try harness.query { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM adapter WHERE last_response_at IS NOT NULL")
                }
                #expect(answeredAt == TestHub.agencies.count)
            }
        }

        @Test("Early Help joins with a config file, a generated key and a broker user: no code, no rebuild")
        func earlyHelp() async throws {
            let routing = try Harness.routing(
                adding: """
                      early-help:
                        mandatory: true
                        receives: [forename, surname, dateOfBirth, postcode, household]

                    """)
            try await Harness.with("adapters-early-help", routing: routing) { harness in
                // Onboarding, as an operator does it: a key pair, a broker user, an extract and a config file.
                _ = try Shell.run(
                    ChildProcess.built("mashctl"),
                    ["keys", "generate", "--agency", "early-help", "--out", harness.hub.keys.path])
                try harness.broker.control("add-agency", "early-help")
                try await harness.vhost.grant("early-help")
                try harness.signatory("early-help")
                let extract = harness.scratch.file("early-help.csv")
                try """
                first,last,born,postcode,worker,plan
                Ellie,Test-Person,14/03/2016,ME4 4AA,Family support worker J,Early help plan since 2026-06
                Sam,Other,01/01/2015,ME7 1AA,Worker K,Closed
                """.write(toFile: extract, atomically: true, encoding: .utf8)
                let config = harness.scratch.file("early-help.yaml")
                try """
                agency: early-help
                name: Medway Early Help
                broker:
                  url: amqp://early-help@127.0.0.1:\(try harness.broker.url(asUser: "coordinator").port)/\(harness.vhost.name)
                  passwordFile: \(harness.broker.credentialsDirectory)/early-help
                keys: \(harness.hub.keys.path)
                store: \(harness.scratch.file("early-help.sqlite"))
                receives: [forename, surname, dateOfBirth, postcode, household]
                lawfulBasis:
                  article6: public-task
                research:
                  backend: csv
                  file: early-help.csv
                  columns: {forename: first, surname: last, dateOfBirth: born, postcode: postcode}
                  discloses:
                    - {column: worker, label: Worker, category: personal}
                    - {column: plan, label: Plan, category: personal}
                """.write(toFile: config, atomically: true, encoding: .utf8)
                _ = try Shell.run(ChildProcess.built("mashctl"), ["config", "validate", config])

                try await harness.startInProcess()
                // The password comes from the file the broker script wrote, not from the command line.
                let process = try ChildProcess(
                    ChildProcess.built("mash-adapter"), ["--config", config],
                    log: harness.scratch.file("early-help.log"))
                harness.processes.withLock { $0.append(process) }
                try await process.waitFor("mash-adapter early-help ready", within: .seconds(60))

                let enquiry = TestHub.enquiry(rag: .amber, agencies: ["early-help"])
                try await harness.send(enquiry.json, type: .enquiry)
                let opened = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let package = try DecisionPackage(json: opened[0].payload, source: "package")
                let answer = try #require(package.responses.first)
                #expect(package.responses.count == 1 && answer.agency == "early-help")
                #expect(answer.outcome == .informationHeld)
                #expect(answer.findings.contains { $0.summary.contains("Early help plan") && $0.match?.band == .match })
                #expect(!answer.findings.contains { $0.summary.contains("Sam") })
            }
        }

        static func commandResearch(_ mode: String, timeout: String = "10s", attempts: Int = 1) -> String {
            """
              backend: command
              command: [\(Harness.python), \(Repository.path("Tests/Interop/research_program.py")), \(mode.split(separator: " ").joined(separator: ", "))]
              categories: [personal]
              timeout: \(timeout)
              attempts: \(attempts)
            """
        }

        @Test(
            "command backend: findings are sent; garbage and a hang answer 'unable' with the reason, and the adapter carries on"
        )
        func commandBackend() async throws {
            try await Harness.with("adapters-command") { harness in
                let collector = try await ResponseCollector(harness)
                defer { collector.stop() }

                try await harness.startAdapter(
                    try harness.adapterConfig("police", research: Self.commandResearch("answer")), agency: "police")
                let good = harness.researchRequest(to: "police")
                try await harness.send(good)
                let answer = try await collector.answer(to: good.requestID)
                #expect(answer.outcome == .informationHeld)
                #expect(answer.findings.first?.summary == "Known to the service: Ellie Testperson, open case.")
                #expect(answer.findings.first?.match == MatchAssessment(band: .match, score: 0.97))

                try await harness.startAdapter(
                    try harness.adapterConfig("health", research: Self.commandResearch("garbage")), agency: "health")
                let garbage = harness.researchRequest(to: "health")
                try await harness.send(garbage)
                let unable = try await collector.answer(to: garbage.requestID)
                #expect(unable.outcome == .unable)
                #expect(unable.declinedReason?.contains("not valid JSON") == true)

                let children = harness.scratch.file("children.pids")
                let hangs = try await harness.startAdapter(
                    try harness.adapterConfig(
                        "housing", research: Self.commandResearch("hang-with-child \(children)", timeout: "4s")),
                    agency: "housing")
                let first = harness.researchRequest(to: "housing")
                let second = harness.researchRequest(to: "housing")
                try await harness.send(first)
                try await harness.send(second)
                for request in [first, second] {
                    let timedOut = try await collector.answer(to: request.requestID)
                    #expect(timedOut.outcome == .unable)
                    #expect(timedOut.declinedReason?.contains("did not answer within 4s") == true)
                }
                // Still running and still consuming: nothing crashed.
                #expect(kill(hangs.pid, 0) == 0)
                // The programs' own children were stopped with them (the whole process group), not left behind.
                let pids = try String(contentsOfFile: children, encoding: .utf8).split(separator: "\n")
                    .compactMap { pid_t($0) }
                #expect(pids.count == 2)
                try await harness.eventually("the timed-out programs' children to be gone") {
                    pids.allSatisfy { pid in
                        // Gone, or dead and waiting for init to reap it (state Z).
                        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
                            return true
                        }
                        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
                    }
                }
            }
        }

        @Test("http backend: findings from the agency's own service; a service that hangs answers 'unable'")
        func httpBackend() async throws {
            try await Harness.with("adapters-http") { harness in
                let collector = try await ResponseCollector(harness)
                defer { collector.stop() }
                let port = try await harness.startResearchService()

                func research(_ path: String) -> String {
                    """
                      backend: http
                      url: http://127.0.0.1:\(port)/\(path)
                      categories: [personal]
                      timeout: 2s
                      attempts: 1
                    """
                }
                try await harness.startAdapter(
                    try harness.adapterConfig("police", research: research("research")), agency: "police")
                try await harness.startAdapter(
                    try harness.adapterConfig("health", research: research("slow")), agency: "health")
                try await harness.startAdapter(
                    try harness.adapterConfig("housing", research: research("broken")), agency: "housing")
                let good = harness.researchRequest(to: "police")
                let slow = harness.researchRequest(to: "health")
                let broken = harness.researchRequest(to: "housing")
                for request in [good, slow, broken] { try await harness.send(request) }

                let answer = try await collector.answer(to: good.requestID)
                #expect(answer.outcome == .informationHeld)
                #expect(answer.findings.first?.summary == "Held by the service for request \(good.requestID).")
                let timedOut = try await collector.answer(to: slow.requestID)
                #expect(timedOut.outcome == .unable)
                #expect(timedOut.declinedReason?.contains("did not answer within 2s") == true)
                let failed = try await collector.answer(to: broken.requestID)
                #expect(failed.outcome == .unable)
                #expect(failed.declinedReason?.contains("HTTP 500") == true)
            }
        }

        @Test(
            "a decision's outcome reaches every agency that answered: kept in each adapter's store, passed to the agency's own program or service (tried again until it takes it), without the rationale"
        )
        func outcomes() async throws {
            try await Harness.with(
                "adapters-outcomes", routing: try DecisionTests.routing(decision: "60s wall-clock")
            ) { harness in
                try await harness.startInProcess()
                let programLog = harness.scratch.file("program-outcomes.jsonl")
                let serviceLog = harness.scratch.file("service-outcomes.jsonl")
                let port = try await harness.startResearchService(outcomeLog: serviceLog)
                let program = Repository.path("Tests/Interop/research_program.py")
                try await harness.startAdapter(
                    try harness.adapterConfig(
                        "police", research: Self.commandResearch("answer"),
                        extra: "outcomes:\n  command: [\(Harness.python), \(program), outcome, \(programLog)]"),
                    agency: "police")
                try await harness.startAdapter(
                    try harness.adapterConfig(
                        "health",
                        research: """
                              backend: http
                              url: http://127.0.0.1:\(port)/research
                              categories: [personal]
                              retryDelay: 1s
                            """,
                        extra: "outcomes:\n  url: http://127.0.0.1:\(port)/outcome\n  timeout: 5s"),
                    agency: "health")
                let housingConfig = try harness.adapterConfig("housing", research: Self.commandResearch("answer"))
                try await harness.startAdapter(housingConfig, agency: "housing")

                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police", "health", "housing"])
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let decision = DecisionTests.decision(enquiry, .childInNeedAssessment)
                try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")

                // The referrer's copy has the rationale and names no request.
                let told = try await harness.take(1, from: "spa.notices", as: "spa")
                let referrers = try EnquiryOutcome(json: told[0].payload, source: "outcome")
                #expect(referrers.rationale == decision.rationale && referrers.requestID == nil)

                let requests = try harness.query { db in
                    try Dictionary(
                        uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT agency, id FROM request").map {
                            (row: Row) -> (String, String) in (row["agency"], row["id"])
                        })
                }
                @Sendable func lines(_ path: String) -> [EnquiryOutcome] {
                    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
                        try? EnquiryOutcome(json: Array($0.utf8), source: path)
                    }
                }
                try await harness.eventually("the police program given the outcome") { lines(programLog).count == 1 }
                // The service refused the first time (503); the adapter tried again a second later.
                try await harness.eventually("the health service given the outcome") { lines(serviceLog).count == 1 }
                for (agency, log) in [("police", programLog), ("health", serviceLog)] {
                    let outcome = try #require(lines(log).first)
                    #expect(outcome.enquiryID == enquiry.id && outcome.requestID == requests[agency])
                    #expect(outcome.outcome == .childInNeedAssessment && outcome.decidedBy == decision.decidedBy)
                    #expect(outcome.rationale == nil)
                    #expect(outcome.reference == enquiry.reference)
                }
                let healthLog = try String(contentsOfFile: harness.scratch.file("adapter-health.log"), encoding: .utf8)
                #expect(healthLog.contains("the agency's system did not take an outcome; will try again"))
                #expect(healthLog.contains("the outcome service answered HTTP 503"))

                // Housing passes outcomes nowhere: its store keeps the outcome, sealed.
                let housingStore = try #require(
                    try String(contentsOfFile: housingConfig, encoding: .utf8).split(separator: "\n")
                        .first { $0.hasPrefix("store: ") }?.dropFirst("store: ".count))
                try await harness.eventually("housing's store has the outcome") {
                    let store = try Harness.sqlite(String(housingStore))
                    defer { try? store.close() }
                    return try store.read { db in
                        try Row.fetchOne(db, sql: "SELECT request_id, status, body FROM outcome")
                    }.map { row in
                        let body: Data = row["body"]
                        return row["request_id"] == requests["housing"] && row["status"] == "kept"
                            && !String(decoding: body, as: UTF8.self).contains("child-in-need")
                    } ?? false
                }
                // Each outcome sent is an entry in the record of sharing: the referrer and the three agencies.
                let shared = try harness.query { db in
                    try String.fetchAll(
                        db,
                        sql: """
                            SELECT recipient FROM record_of_sharing WHERE sender = 'coordinator' AND message_id IN
                            (SELECT message_id FROM outbox WHERE type = 'mash.outcome/1') ORDER BY recipient
                            """)
                }
                #expect(shared == ["health", "housing", "police", "spa"])
            }
        }

        @Test("no consent or override: declined with the reason, and the agency's records are never searched")
        func noConsent() async throws {
            try await Harness.with("adapters-consent") { harness in
                let collector = try await ResponseCollector(harness)
                defer { collector.stop() }
                let marker = harness.scratch.file("ran")
                try await harness.startAdapter(
                    try harness.adapterConfig("police", research: Self.commandResearch("record \(marker)")),
                    agency: "police")
                let refused = harness.researchRequest(to: "police", consent: "not-given")
                try await harness.send(refused)
                let answer = try await collector.answer(to: refused.requestID)
                #expect(answer.outcome == .declined)
                #expect(answer.declinedReason?.contains("consent as 'not-given'") == true)
                #expect(answer.findings.isEmpty)
                #expect(!FileManager.default.fileExists(atPath: marker))

                let allowed = harness.researchRequest(to: "police")
                try await harness.send(allowed)
                #expect(try await collector.answer(to: allowed.requestID).outcome == .informationHeld)
                #expect(FileManager.default.fileExists(atPath: marker))
            }
        }

        @Test(
            "kill -9 during research: the request was already acked and stored, and exactly one answer follows the restart"
        )
        func killDuringResearch() async throws {
            try await Harness.with("adapters-kill") { harness in
                let collector = try await ResponseCollector(harness)
                defer { collector.stop() }
                let marker = harness.scratch.file("started")
                let config = try harness.adapterConfig(
                    "police", research: Self.commandResearch("slow \(marker) 3", timeout: "30s"))
                let first = try await harness.startAdapter(config, agency: "police")
                let request = harness.researchRequest(to: "police")
                try await harness.send(request)
                try await harness.eventually("research to start") { FileManager.default.fileExists(atPath: marker) }
                first.stop(SIGKILL)

                // Acked as soon as it was stored: nothing waits in the queue, and nothing was answered.
                let queue = try await harness.admin.inspect(queue: "agency.police.enquiries")
                #expect(queue.messageCount == 0)
                #expect(collector.answers(to: request.requestID).isEmpty)

                try await harness.startAdapter(
                    config, agency: "police", log: harness.scratch.file("adapter-restart.log"))
                let answer = try await collector.answer(to: request.requestID, within: .seconds(60))
                #expect(answer.outcome == .informationHeld)
                try await Task.sleep(for: .seconds(5))
                #expect(collector.answers(to: request.requestID).count == 1)
                // The research ran twice (once cut short), the answer went once.
                let runs = try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").count
                #expect(runs == 2)
            }
        }

        @Test("a request not signed by the hub, or an outcome for a request never held, is dead-lettered")
        func forgedRequest() async throws {
            try await Harness.with("adapters-forged") { harness in
                let marker = harness.scratch.file("ran")
                try await harness.startAdapter(
                    try harness.adapterConfig("police", research: Self.commandResearch("record \(marker)")),
                    agency: "police")
                try await harness.send(harness.researchRequest(to: "police"), from: "spa")
                let dead = try await harness.take(1, from: "agency.police.enquiries.dlq", as: "police")
                #expect(dead[0].sender == "spa")
                #expect(!FileManager.default.fileExists(atPath: marker))

                // An outcome, even from the hub, for a request this adapter never had is refused too.
                let stray = EnquiryOutcome(
                    enquiryID: "e-unknown", reference: "FWi-1", requestID: "r-unknown", outcome: .noFurtherAction,
                    rationale: nil, decidedBy: "dm-jones", decidedAt: Date(), decisionDue: Date(), late: false)
                let message = try harness.hub.sealed(stray.json, type: .outcome, from: "coordinator", to: "police")
                try await harness.admin.publish(message, exchange: "mash.enquiries", routingKey: "police")
                let refused = try await harness.take(1, from: "agency.police.enquiries.dlq", as: "police")
                #expect(refused[0].type == DocumentType.outcome.rawValue)
                let log = try String(contentsOfFile: harness.scratch.file("adapter-police.log"), encoding: .utf8)
                #expect(log.contains("unknownRequest"))
            }
        }

        @Test(
            "an agency challenges a decision from its adapter: only once the outcome has come, it reaches the Area Manager, and each stage comes back, is kept and passed to the agency's program; a stage of a challenge it never raised is refused"
        )
        func challenge() async throws {
            try await Harness.with("adapters-challenge") { harness in
                try await harness.startInProcess()
                let programLog = harness.scratch.file("program-stages.jsonl")
                let program = Repository.path("Tests/Interop/research_program.py")
                let config = try harness.adapterConfig(
                    "police", research: Self.commandResearch("answer"),
                    extra: "outcomes:\n  command: [\(Harness.python), \(program), outcome, \(programLog)]")
                try await harness.startAdapter(config, agency: "police")
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")

                let adapter = ChildProcess.built("mash-adapter")
                func raise(_ enquiryID: String) throws -> String {
                    try Shell.run(
                        adapter,
                        [
                            "challenge", "--config", config, "--enquiry", enquiryID, "--staff", "ds.hughes", "--name",
                            "DS Hughes", "--role", "MASH sergeant", "--grounds",
                            "Two call-outs this month: we ask for a strategy discussion.",
                        ])
                }
                // Before the decision, and for an enquiry police were never asked about: refused at the agency.
                for (enquiryID, why) in [
                    (enquiry.id, "has not sent the decision on enquiry"),
                    (TestNames.messageID(), "holds no request of enquiry"),
                ] {
                    do {
                        _ = try raise(enquiryID)
                        Issue.record("a challenge was accepted where \(why)")
                    } catch let failure as Shell.Failure {
                        #expect(failure.output.contains(why), "\(failure.output)")
                    }
                }

                let decision = DecisionTests.decision(enquiry, .noFurtherAction)
                try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")
                @Sendable func lines(_ path: String) -> [String] {
                    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                }
                try await harness.eventually("the police program given the outcome") { lines(programLog).count == 1 }

                let output = try raise(enquiry.id)
                let challengeID = try #require(
                    output.split(separator: "\n").map(String.init).first { $0.count == 36 && !$0.contains(" ") })
                let heard = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                #expect(heard[0].type == "mash.challenge/1")
                #expect(
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT raised_by FROM challenge WHERE id = ?", arguments: [challengeID])
                    } == "police")
                let raised = try Challenge(json: heard[0].payload, source: "test")
                #expect(raised.id == challengeID && raised.enquiryID == enquiry.id)
                #expect(raised.raisedBy.staffID == "ds.hughes" && raised.grounds.hasPrefix("Two call-outs"))

                let resolved = ChallengeStageRecord(
                    id: TestNames.messageID(), challengeID: challengeID, stage: .resolved,
                    note: "Discussed with the police MASH sergeant.", resolution: "The decision stands.",
                    recordedBy: "fr.patel", at: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                )
                try await harness.send(
                    resolved.json, type: .challengeStage, from: "area-manager", routingKey: "challenge")
                // The program is given each stage (raised, then resolved) after the outcome, as JSON it can read.
                try await harness.eventually("the police program given both stages") { lines(programLog).count == 3 }
                let stages = try lines(programLog).dropFirst().map {
                    try ChallengeStageRecord(json: Array($0.utf8), source: programLog)
                }
                #expect(stages.map(\.stage) == [.raised, .resolved])
                #expect(stages.last?.resolution == "The decision stands.")
                let listed = try Shell.run(adapter, ["challenges", "--config", config, "--json"])
                let rows = try #require(
                    try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
                #expect(rows.count == 1 && rows[0]["stage"] as? String == "resolved" && rows[0]["stages"] as? Int == 2)
                #expect(!listed.contains("call-outs"), "the grounds stay sealed in the store")

                // A stage of a challenge police never raised is refused with the reason.
                let stray = ChallengeStageRecord(
                    id: TestNames.messageID(), challengeID: TestNames.messageID(), stage: .withAreaManager,
                    note: "Not ours.", recordedBy: "fr.patel", at: resolved.at)
                let message = try harness.hub.sealed(
                    stray.json, type: .challengeStage, from: "coordinator", to: "police")
                try await harness.admin.publish(message, exchange: "mash.enquiries", routingKey: "police")
                let refused = try await harness.take(1, from: "agency.police.enquiries.dlq", as: "police")
                #expect(refused[0].type == DocumentType.challengeStage.rawValue)
                let log = try String(contentsOfFile: harness.scratch.file("adapter-police.log"), encoding: .utf8)
                #expect(log.contains("unknownChallenge"))
            }
        }
    }
}
