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
    /// The decision loop: the decision maker's `mash.decision/1` on a delivered package stops the decision clock
    /// and reaches the referrer as a `mash.outcome/1`.
    @Suite("Coordinator: decisions close the loop")
    struct DecisionTests {
        /// Red enquiries to police only, with a decision clock of `decision`.
        static func routing(decision: String) throws -> String {
            try CoordinatorBrokerTests.ClockAndCrashTests.shortSLA(partners: "60s wall-clock", decision: decision)
        }

        /// Opens a Red enquiry to police (answering at once) and waits for its package.
        static func packaged(_ harness: Harness) async throws -> Enquiry {
            _ = try await harness.agencies(["police"])
            try await harness.startInProcess()
            let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
            try await harness.send(enquiry.json, type: .enquiry)
            _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
            return enquiry
        }

        static func decision(_ enquiry: Enquiry, _ outcome: DecisionOutcome = .strategyDiscussion) -> Decision {
            Decision(
                enquiryID: enquiry.id, outcome: outcome, rationale: "Risk of significant harm; s47 threshold met.",
                decidedBy: "dm-jones", decidedAt: Date())
        }

        @Test(
            "a decision in time: the referrer gets the outcome, the decision clock stops without an alert, the timeline shows it, a second decision is refused"
        )
        func decisionInTime() async throws {
            try await Harness.with("decision", routing: try Self.routing(decision: "6s wall-clock")) { harness in
                let enquiry = try await Self.packaged(harness)
                let decision = Self.decision(enquiry)
                try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")

                let told = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(told[0].type == DocumentType.outcome.rawValue)
                let outcome = try EnquiryOutcome(json: told[0].payload, source: "outcome")
                #expect(outcome.enquiryID == enquiry.id && outcome.reference == enquiry.reference)
                #expect(outcome.outcome == .strategyDiscussion && outcome.decidedBy == "dm-jones" && !outcome.late)
                #expect(outcome.rationale == decision.rationale)

                let stored = try harness.query { db in
                    try Row.fetchOne(db, sql: "SELECT status, decision_outcome, decision_due FROM enquiry")
                }
                #expect(stored?["status"] == "decided")
                #expect(stored?["decision_outcome"] == "strategy-discussion")
                let openTimers = try harness.query { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM timer WHERE fired_at IS NULL")
                }
                #expect(openTimers == 0)

                // Past the decision deadline, no alert came for it.
                let due = try #require(stored?["decision_due"] as Double?)
                try await harness.eventually("the decision deadline passed", within: .seconds(20)) {
                    Date().timeIntervalSince1970 > due + 2
                }
                #expect(try await harness.admin.inspect(queue: "practice-manager.alerts").messageCount == 0)

                let shown = try await harness.mashctl(["enquiry", "show", enquiry.id, "--store", harness.store])
                #expect(shown.status == 0)
                #expect(shown.output.contains("decided") && shown.output.contains("strategy-discussion"))

                // A second decision (a changed mind) is refused, not applied.
                try await harness.send(
                    Self.decision(enquiry, .noFurtherAction).json, type: .decision, from: "decision-maker",
                    routingKey: "decision")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                let letter = try await dead.next(within: .seconds(30), "the second decision in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "alreadyDecided")
                try letter.ack()
                let outcomeAfter = try harness.query { db in
                    try String.fetchOne(db, sql: "SELECT decision_outcome FROM enquiry")
                }
                #expect(outcomeAfter == "strategy-discussion")
            }
        }

        @Test("a decision after its deadline: the breach was alerted, and the outcome says it was late")
        func lateDecision() async throws {
            try await Harness.with("decision-late", routing: try Self.routing(decision: "2s wall-clock")) { harness in
                let enquiry = try await Self.packaged(harness)
                let alerts = try await harness.take(2, from: "practice-manager.alerts", as: "practice-manager")
                    .map { try Notice(json: $0.payload, source: "alert") }
                #expect(alerts.map(\.event) == [.warning, .breach])
                #expect(alerts.allSatisfy { $0.clock == "decision" && $0.enquiryID == enquiry.id })
                // Documents carry whole seconds: decide a whole second after the deadline.
                let due = try #require(alerts.last?.dueBy)
                try await harness.eventually("a second past the deadline") { Date() > due.addingTimeInterval(1) }
                // Until the decision comes, operators see it waiting and late.
                let waiting = try await harness.mashctl([
                    "enquiries", "--status", "complete", "--store", harness.store, "--json",
                ])
                #expect(waiting.output.contains(enquiry.id))
                let late = try harness.readModel().openEnquiries(now: Date())
                #expect(late.first { $0.rag == "red" }?.decisionOverdue == 1)

                try await harness.send(
                    Self.decision(enquiry, .earlyHelp).json, type: .decision, from: "decision-maker",
                    routingKey: "decision")
                let told = try await harness.take(1, from: "spa.notices", as: "spa")
                let outcome = try EnquiryOutcome(json: told[0].payload, source: "outcome")
                #expect(outcome.outcome == .earlyHelp && outcome.late)
                let shown = try await harness.mashctl(["enquiry", "show", enquiry.id, "--store", harness.store])
                #expect(shown.output.contains("early-help (after the decision deadline)"))
                // The chases of the decision clock stop with the decision.
                try await harness.eventually("the decision clock stopped") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM timer WHERE fired_at IS NULL") }
                        == 0
                }
            }
        }

        @Test("a decision from anyone but the decision maker, or before the package, is dead-lettered with its reason")
        func refusedDecisions() async throws {
            try await Harness.with("decision-refused", routing: try Self.routing(decision: "60s wall-clock")) {
                harness in
                _ = try await harness.agencies(["police"], answering: false)
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("the enquiry open") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") } == 1
                }
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                try await harness.send(
                    Self.decision(enquiry).json, type: .decision, from: "decision-maker", routingKey: "decision")
                let early = try await dead.next(within: .seconds(30), "the early decision")
                #expect(early.properties.headers["x-mash-reason"]?.string == "notDecidable")
                try early.ack()
                try await harness.send(
                    Self.decision(enquiry).json, type: .decision, from: "spa", routingKey: "decision")
                let forged = try await dead.next(within: .seconds(30), "the SPA's decision")
                #expect(forged.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try forged.ack()
                let status = try harness.query { try String.fetchOne($0, sql: "SELECT status FROM enquiry") }
                #expect(status == "awaiting")
            }
        }
    }
}
