import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Testing

private func now() -> Date { Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)) }

private func stage(
    _ challengeID: String, _ stage: ChallengeStage, note: String = "Discussed with both agencies.",
    resolution: String? = nil
) -> ChallengeStageRecord {
    ChallengeStageRecord(
        id: TestNames.messageID(), challengeID: challengeID, stage: stage, note: note, resolution: resolution,
        recordedBy: "fr.patel", at: now())
}

extension CoordinatorBrokerTests {
    @Suite("Challenges to a MASH decision against the real broker: the dispute route")
    struct ChallengeTests {
        /// A Red enquiry answered by police and health and decided; returns its id.
        static func decidedEnquiry(_ harness: Harness) async throws -> String {
            let enquiry = TestHub.enquiry(rag: .red, agencies: ["police", "health"])
            try await harness.send(enquiry.json, type: .enquiry)
            // Another enquiry of the test may complete first: its package is passed over.
            var delivered = false
            for _ in 0..<5 where !delivered {
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                delivered = try DecisionPackage(json: package[0].payload, source: "package").enquiry.id == enquiry.id
            }
            #expect(delivered, "the decided enquiry's package came")
            let decision = Decision(
                enquiryID: enquiry.id, outcome: .noFurtherAction, rationale: "Below the threshold for s17.",
                decidedBy: "dm-jones", decidedAt: Date())
            try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")
            try await harness.eventually("the decision recorded") {
                try harness.query {
                    try String.fetchOne($0, sql: "SELECT status FROM enquiry WHERE id = ?", arguments: [enquiry.id])
                } == "decided"
            }
            return enquiry.id
        }

        static func challenge(_ enquiryID: String) -> Challenge {
            Challenge(
                id: TestNames.messageID(), enquiryID: enquiryID,
                raisedBy: .init(staffID: "ds.hughes", name: "DS Hughes", role: "Police MASH sergeant"),
                grounds: "Two call-outs to the address this month: we ask for a strategy discussion.",
                raisedAt: now())
        }

        @Test(
            "an agency that answered challenges the decision: it reaches the Area Manager, is discussed, escalated and resolved, and the agency is told at each stage; a stage cannot go back; an agency that took no part is refused"
        )
        func route() async throws {
            try await Harness.with("challenge") { harness in
                let agencies = try await harness.agencies(["police", "health", "housing"])
                try await harness.startInProcess()
                let enquiryID = try await Self.decidedEnquiry(harness)
                let dead = try await harness.admin.consume(queue: "coordinator.responses.dlq")

                // Housing was not asked: its challenge is refused, with the reason.
                try await agencies["housing"]!.challenge(Self.challenge(enquiryID))
                let outsider = try await dead.next(within: .seconds(30), "a challenge from an agency not asked")
                #expect(outsider.properties.headers["x-mash-reason"]?.string == "notAParty")
                #expect(outsider.properties.headers["x-mash-detail"]?.string?.contains("housing took no part") == true)
                try outsider.ack()

                let challenge = Self.challenge(enquiryID)
                try await agencies["police"]!.challenge(challenge)
                let heard = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                #expect(heard[0].type == "mash.challenge/1")
                #expect(try Challenge(json: heard[0].payload, source: "test") == challenge)
                try await harness.eventually("the police told it was raised") {
                    agencies["police"]!.received.value.challengeStages.map(\.stage) == [.raised]
                }

                let intakeDead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                // Only the Area Manager and the Practice Manager record stages.
                try await harness.send(
                    stage(challenge.id, .resolved, resolution: "Stands.").json, type: .challengeStage, from: "spa",
                    routingKey: "challenge")
                let forged = try await intakeDead.next(within: .seconds(30), "a stage from the SPA")
                #expect(forged.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try forged.ack()

                try await harness.send(
                    stage(challenge.id, .discussedAtMASH).json, type: .challengeStage, from: "practice-manager",
                    routingKey: "challenge")
                // Every stage reaches the Area Manager's desk too, the Practice Manager's as its own.
                let discussed = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                #expect(try ChallengeStageRecord(json: discussed[0].payload, source: "t").stage == .discussedAtMASH)
                try await harness.send(
                    stage(challenge.id, .withSeniorStaff, note: "Raised with the police and CSC heads of service.")
                        .json, type: .challengeStage, from: "area-manager", routingKey: "challenge")
                try await harness.eventually("the police told of each stage") {
                    agencies["police"]!.received.value.challengeStages.map(\.stage) == [
                        .raised, .discussedAtMASH, .withSeniorStaff,
                    ]
                }
                try await harness.send(
                    stage(challenge.id, .withAreaManager).json, type: .challengeStage, from: "area-manager",
                    routingKey: "challenge")
                let back = try await intakeDead.next(within: .seconds(30), "a stage going back")
                #expect(back.properties.headers["x-mash-reason"]?.string == "stageOutOfOrder")
                try back.ack()

                let resolved = stage(
                    challenge.id, .resolved, note: "Agreed at the heads of service meeting.",
                    resolution: "A strategy discussion is held; the decision is changed.")
                try await harness.send(
                    resolved.json, type: .challengeStage, from: "area-manager", routingKey: "challenge")
                try await harness.eventually("the police told it was resolved") {
                    agencies["police"]!.received.value.challengeStages.last == resolved
                }
                let row = try #require(
                    try harness.query {
                        try Row.fetchOne(
                            $0, sql: "SELECT stage, stage_due, resolved_at FROM challenge WHERE id = ?",
                            arguments: [challenge.id])
                    })
                #expect(row["stage"] == "resolved" && row["stage_due"] == nil && row["resolved_at"] != nil)
                let running = try harness.query {
                    try Int.fetchOne(
                        $0, sql: "SELECT count(*) FROM timer WHERE enquiry_id = ? AND fired_at IS NULL",
                        arguments: [challenge.id])
                }
                #expect(running == 0)
                // Every copy is in the record of sharing: in from the police, to the Area Manager and back to the
                // police at each stage.
                let recipients = try harness.query {
                    try String.fetchAll(
                        $0,
                        sql: """
                            SELECT recipient FROM record_of_sharing WHERE enquiry_id = ? AND purpose LIKE 'A challenge%'
                            ORDER BY seq
                            """, arguments: [enquiryID])
                }
                #expect(
                    recipients == [
                        "coordinator", "area-manager", "police", "police", "area-manager", "police", "area-manager",
                        "police", "area-manager",
                    ])
                let verify = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verify.status == 0, "\(verify.output)")
            }
        }

        @Test(
            "a stage's clock running out alerts the Area Manager once; a challenge to an undecided enquiry is refused"
        )
        func clock() async throws {
            try await Harness.with("challenge-clock") { harness in
                let agencies = try await harness.agencies(["police", "health"])
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let base = try #require(coordinator.operationsURL)
                @Sendable func gauge(_ name: String) throws -> Double? {
                    try Exposition(scrape: base).value(name, [:])
                }
                let open = TestHub.enquiry(rag: .amber, agencies: ["police"])
                try await harness.send(open.json, type: .enquiry)
                let enquiryID = try await Self.decidedEnquiry(harness)
                let dead = try await harness.admin.consume(queue: "coordinator.responses.dlq")
                try await harness.eventually("police answered the open enquiry") {
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT status FROM request WHERE enquiry_id = ? AND agency = 'police'",
                            arguments: [open.id])
                    } == "answered"
                }
                try await agencies["police"]!.challenge(Self.challenge(open.id))
                let early = try await dead.next(within: .seconds(30), "a challenge before the decision")
                #expect(early.properties.headers["x-mash-reason"]?.string == "notDecided")
                try early.ack()

                let challenge = Self.challenge(enquiryID)
                try await agencies["health"]!.challenge(challenge)
                _ = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                let due = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT stage_due FROM challenge WHERE id = ?", arguments: [challenge.id])
                    })
                harness.clockOffset.withLock { $0 = due - Date().timeIntervalSince1970 + 1 }
                let alert = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                let notice = try Notice(json: alert[0].payload, source: "test")
                #expect(notice.enquiryID == challenge.id && notice.clock == "challenge" && notice.event == .breach)
                #expect(try gauge("mash_challenges_open") == 1 && gauge("mash_challenge_stages_overdue") == 1)
                // Once: the next message there is the next stage's, not the alert again.
                try await harness.send(
                    stage(challenge.id, .withAreaManager).json, type: .challengeStage, from: "practice-manager",
                    routingKey: "challenge")
                let next = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                #expect(next[0].type == "mash.challenge-stage/1")
            }
        }
    }
}
