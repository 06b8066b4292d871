import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHReadModel
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    /// SLA clocks as real messages, and the coordinator killed with SIGKILL. Serialized: these tests share the
    /// hub's queues.
    @Suite("Coordinator: clocks, escalation and kill -9")
    struct ClockAndCrashTests {
        /// Routing with the standard agencies and short wall-clock SLAs, so breaches happen within a test.
        static func shortSLA(partners: String, decision: String = "60s wall-clock", chaseEvery: String = "1s") throws
            -> String
        {
            let standard = try String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8)
            let withoutSLA = standard.components(separatedBy: "\nsla:")[0]
            return withoutSLA + """

                sla:
                  warningAt: 0.5
                  chaseEvery: \(chaseEvery)
                  red: {partners: \(partners), decision: \(decision)}
                # No meeting lists: run within a sitting's lead, one would reach the Practice Manager's alerts.
                meetings:
                  agendaBefore: off

                """
        }

        @Test("short SLA: warning, breach and hourly-style chases arrive as real messages until the agency answers")
        func warningBreachChase() async throws {
            try await Harness.with("sla", routing: try Self.shortSLA(partners: "2s wall-clock")) { harness in
                let agencies = try await harness.agencies(["housing"], answering: false)
                try await harness.startInProcess()
                try await harness.send(TestHub.enquiry(rag: .red, agencies: ["housing"]).json, type: .enquiry)

                let alerts = try await harness.take(4, from: "practice-manager.alerts", as: "practice-manager")
                    .map { try Notice(json: $0.payload, source: "alert") }
                #expect(alerts.map(\.event) == [.warning, .breach, .chase, .chase])
                #expect(alerts.allSatisfy { $0.type == .slaAlert && $0.agency == "housing" && $0.clock == "partners" })
                let due = try #require(alerts.first?.dueBy)
                #expect(alerts.allSatisfy { $0.dueBy == due })
                #expect(alerts[1].at >= due)

                let housing = try #require(agencies["housing"])
                try await harness.eventually("chases at housing") {
                    housing.received.value.notices.filter { $0.type == .requestChase }.count >= 2
                }
                // Once answered, the chasing stops.
                let request = try #require(housing.received.value.requests.first)
                try await housing.respond(to: request)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                try await Task.sleep(for: .seconds(2))
                try await harness.admin.purge(queue: "practice-manager.alerts")
                let chasesAfter = housing.received.value.notices.filter { $0.type == .requestChase }.count
                try await Task.sleep(for: .seconds(2))
                #expect(housing.received.value.notices.filter { $0.type == .requestChase }.count == chasesAfter)
                #expect(try await harness.admin.inspect(queue: "practice-manager.alerts").messageCount == 0)
            }
        }

        @Test("a timer due while the coordinator is down fires on restart, at the deadline stored before")
        func timerDueWhileDown() async throws {
            try await Harness.with("timer-down", routing: try Self.shortSLA(partners: "3s wall-clock")) { harness in
                let agencies = try await harness.agencies(["housing"], answering: false)
                let first = try await harness.startProcess()
                try await harness.send(TestHub.enquiry(rag: .red, agencies: ["housing"]).json, type: .enquiry)
                try await harness.eventually("the request at housing") {
                    agencies["housing"]!.received.value.requests.count == 1
                }
                let storedDue = try harness.query { try Double.fetchOne($0, sql: "SELECT due FROM request") }
                #expect(first.stop(SIGKILL) == 128 + SIGKILL)
                try await Task.sleep(for: .seconds(4))  // the breach falls due while nothing runs
                #expect(Date().timeIntervalSince1970 > storedDue ?? .infinity)

                _ = try await harness.startProcess()
                let alerts = try await harness.take(2, from: "practice-manager.alerts", as: "practice-manager")
                    .map { try Notice(json: $0.payload, source: "alert") }
                #expect(alerts.map(\.event) == [.warning, .breach])
                #expect(alerts.allSatisfy { $0.dueBy?.timeIntervalSince1970 == storedDue })
            }
        }

        @Test(
            "kill -9 while a queue of enquiries is committed in batches: after restart each enquiry has one effect"
        )
        func killDuringBatchCommits() async throws {
            try await Harness.with("kill-batches") { harness in
                let police = try #require(try await harness.agencies(["police"], answering: false)["police"])
                // Queued before the coordinator starts, so it takes them in batches as fast as it can.
                let count = 200
                let enquiries = (0..<count).map { _ in TestHub.enquiry(rag: .red, agencies: ["police"]) }
                let spa = try await AMQPConnection.connect(
                    AMQPConfiguration(url: try harness.broker.url(asUser: "spa"), connectionName: "test spa"))
                for enquiry in enquiries {
                    try await spa.publish(
                        try harness.hub.sealed(enquiry.json, type: .enquiry, from: "spa", to: "coordinator"),
                        exchange: "mash.intake", routingKey: "enquiry")
                }
                await spa.close()

                let first = try await harness.startProcess()
                try await harness.eventually("the first batches committed") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") ?? 0 } > 0
                }
                #expect(first.stop(SIGKILL) == 128 + SIGKILL)
                let committedAtKill = try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") }
                #expect((committedAtKill ?? 0) < count, "the kill landed after every batch had been committed")

                _ = try await harness.startProcess()
                try await harness.eventually("every enquiry opened and its request at the police") {
                    police.received.value.requests.count >= count
                }
                try await harness.eventually("the outbox published") {
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") == 0
                    }
                }
                // Everything published has been delivered: a second request for any enquiry would be counted.
                let admin = harness.admin
                try await eventually("the police queue drained") {
                    try await admin.inspect(queue: "agency.police.enquiries").messageCount == 0
                }
                let opened = try harness.query { try String.fetchAll($0, sql: "SELECT id FROM enquiry") }
                #expect(Set(opened) == Set(enquiries.map(\.id)) && opened.count == count)
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM request") } == count)
                #expect(
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM inbox WHERE outcome = 'enquiry'")
                    }
                        == count)
                #expect(
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record_of_sharing") } == count)
                let requested = police.received.value.requests
                #expect(requested.count == count && Set(requested.map(\.enquiryID)) == Set(enquiries.map(\.id)))
                #expect(try await harness.admin.inspect(queue: "coordinator.intake.dlq").messageCount == 0)
                let verification = try RecordOfSharing.verify(try harness.readModel())
                #expect(verification.entries == count && verification.firstBad == nil)
            }
        }

        @Test("kill -9 between fan-out and completion: each request once in effect, one package, deadlines unchanged")
        func killBetweenFanOutAndCompletion() async throws {
            try await Harness.with("kill", routing: try Harness.allMandatoryRouting()) { harness in
                let agencies = try await harness.agencies(answering: false)
                let first = try await harness.startProcess()
                let enquiry = TestHub.enquiry(rag: .red)
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("all seven requests received") {
                    agencies.values.allSatisfy { $0.received.value.requests.count == 1 }
                }
                let deadlinesBefore = try harness.query { db in
                    try Row.fetchAll(db, sql: "SELECT agency, due, warning FROM request ORDER BY agency")
                        .map { "\($0["agency"] as String) \($0["due"] as Double) \($0["warning"] as Double)" }
                }
                let firstThree = ["education", "health", "police"]
                for id in firstThree {
                    try await agencies[id]!.respond(to: agencies[id]!.received.value.requests[0])
                }
                try await harness.eventually("three answers stored") {
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM request WHERE status = 'answered'") == 3
                    }
                }
                #expect(first.stop(SIGKILL) == 128 + SIGKILL)

                _ = try await harness.startProcess()
                for (id, agency) in agencies where !firstThree.contains(id) {
                    try await agency.respond(to: agency.received.value.requests[0])
                }
                let packages = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let package = try DecisionPackage(json: packages[0].payload, source: "package")
                #expect(package.enquiry.id == enquiry.id && package.responses.count == 7)
                try await Task.sleep(for: .seconds(2))
                #expect(try await harness.admin.inspect(queue: "decision-maker.packages").messageCount == 0)

                for (id, agency) in agencies {
                    #expect(
                        agency.received.value.requests.count == 1, "\(id) had \(agency.received.value.requests.count)")
                }
                let deadlinesAfter = try harness.query { db in
                    try Row.fetchAll(db, sql: "SELECT agency, due, warning FROM request ORDER BY agency")
                        .map { "\($0["agency"] as String) \($0["due"] as Double) \($0["warning"] as Double)" }
                }
                #expect(deadlinesAfter == deadlinesBefore)
                let verification = try RecordOfSharing.verify(try harness.readModel())
                #expect(verification.entries == 15 && verification.firstBad == nil)
            }
        }

        @Test("SIGHUP makes the coordinator look at the key folder at once, and does not stop it")
        func sighupReloadsKeys() async throws {
            try await Harness.with("sighup") { harness in
                let process = try await harness.startProcess()
                #expect(kill(process.pid, SIGHUP) == 0)
                try await process.waitFor("SIGHUP: public keys unchanged", within: .seconds(10))
                #expect(kill(process.pid, 0) == 0)
                #expect(process.stop(SIGTERM) == 0)
            }
        }

        @Test("SIGTERM stops the coordinator gracefully (exit 0) with nothing left in the outbox")
        func gracefulStop() async throws {
            try await Harness.with("sigterm") { harness in
                _ = try await harness.agencies(["education"])
                let process = try await harness.startProcess()
                try await harness.send(TestHub.enquiry(rag: .green, agencies: ["education"]).json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                #expect(process.stop(SIGTERM) == 0)
                let backlog = try harness.query {
                    try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                }
                #expect(backlog == 0)
            }
        }
    }
}
