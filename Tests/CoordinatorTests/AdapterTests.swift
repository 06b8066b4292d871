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
                let portFile = harness.scratch.file("service.port")
                let service = try ChildProcess(
                    "/usr/bin/env", [Harness.python, "-u", Repository.path("Tests/Interop/research_service.py")],
                    log: portFile)
                harness.processes.withLock { $0.append(service) }
                try await harness.eventually("the research service's port") {
                    Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.split(separator: "\n").first ?? "")
                        != nil
                }
                let port = try String(contentsOfFile: portFile, encoding: .utf8).split(separator: "\n")[0]

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

        @Test("a request not signed by the hub is dead-lettered, never researched")
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
            }
        }
    }
}
