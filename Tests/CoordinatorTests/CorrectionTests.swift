import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHReadModel
import MASHRuntime
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    @Suite("Coordinator: corrections, erasures and restrictions reach every recipient")
    struct CorrectionTests {
        /// Every agency mandatory (so each has answered, and been sent the outcome, before the decision), and
        /// corrections chased every `chase`.
        static func routing(chase: String) throws -> String {
            try Harness.allMandatoryRouting().replacingOccurrences(
                of: "chaseCorrectionsEvery: 24h", with: "chaseCorrectionsEvery: \(chase)")
        }

        static let amy = Person(
            forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01"), nhsNumber: "9434765919")
        static let amyOptions = ["--forename", "Amy", "--surname", "Carter", "--dob", "2019-03-01"]

        static func enquiryAboutAmy() -> Enquiry {
            var enquiry = TestHub.enquiry(rag: .red)
            enquiry.subject = amy
            return enquiry
        }

        /// The store an adapter configuration names.
        static func store(of config: String) throws -> String {
            let line = try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n")
                .first { $0.hasPrefix("store: ") }
            return String(try #require(line).dropFirst("store: ".count))
        }

        static func count(_ table: String, in store: String) throws -> Int {
            try Harness.sqlite(store).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM \(table)") ?? 0 }
        }

        func subject(_ harness: Harness, _ arguments: [String]) async throws -> String {
            let result = try await harness.mashctl(
                ["subject"] + arguments + [
                    "--reason", "R-2026-12", "--staff", "d.khan", "--keys", harness.hub.keys.path,
                ]
                    + (try harness.operatorOptions()))
            #expect(result.status == 0, "\(result.output)")
            return result.output
        }

        func waiting(_ harness: Harness) async throws -> [[String: Any]] {
            let result = try await harness.mashctl(["subject", "corrections", "--store", harness.store, "--json"])
            #expect(result.status == 0, "\(result.output)")
            return try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
        }

        @Test(
            "an erasure reaches all seven agencies, the decision maker and the referrer: each adapter and the desk erase her and confirm, later research does not return her, the referrer that does not confirm is chased and shown in status until it does"
        )
        func erasureReachesEveryRecipient() async throws {
            try await Harness.with("erasure", routing: try Self.routing(chase: "2s")) { harness in
                try await harness.startInProcess()
                var stores: [String: String] = [:]
                for agency in TestHub.agencies {
                    let config = try harness.adapterConfig(agency, research: AdapterTests.commandResearch("answer"))
                    stores[agency] = try Self.store(of: config)
                    try await harness.startAdapter(config, agency: agency)
                }
                let adapterStores = stores
                let deskStore = try await harness.startDesk(
                    "decision-maker", queue: "decision-maker.packages", shows: ["mash.decision-package/1"])

                let enquiry = Self.enquiryAboutAmy()
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("the package on the decision maker's desk", within: .seconds(60)) {
                    try Self.count("item", in: deskStore) == 1
                }
                try await harness.send(
                    DecisionTests.decision(enquiry).json, type: .decision, from: "decision-maker",
                    routingKey: "decision")
                let outcome = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(outcome[0].type == DocumentType.outcome.rawValue)
                try await harness.eventually("each adapter holds the request and its outcome", within: .seconds(30)) {
                    try adapterStores.values.allSatisfy {
                        try Self.count("request", in: $0) == 1 && Self.count("outcome", in: $0) == 1
                    }
                }
                let requestIDs = try harness.query { db in
                    try Row.fetchAll(
                        db, sql: "SELECT agency, id FROM request WHERE enquiry_id = ?", arguments: [enquiry.id])
                }
                #expect(requestIDs.count == 7)

                let said = try await subject(harness, ["erase"] + Self.amyOptions)
                #expect(said.contains("9 recipients told"), "\(said)")
                let copies = try harness.query { db in
                    try Row.fetchAll(db, sql: "SELECT party, routing_key FROM correction_copy ORDER BY party")
                }
                #expect(
                    copies.map { $0["party"] as String }
                        == (TestHub.agencies + ["decision-maker", "spa"]).sorted())

                // Every adapter and the desk confirm; the referrer (this test) does not, yet.
                try await harness.eventually("eight receipts", within: .seconds(60)) {
                    try harness.query { db in
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM correction_copy WHERE confirmed_at IS NOT NULL")
                    } == 8
                }
                let results = try harness.query { db in
                    try Row.fetchAll(
                        db, sql: "SELECT party, result, copies FROM correction_copy WHERE confirmed_at IS NOT NULL")
                }
                #expect(results.allSatisfy { $0["result"] == "applied" && $0["copies"] == 1 })
                for (agency, store) in adapterStores {
                    #expect(try Self.count("request", in: store) == 0, "\(agency) still holds her request")
                    #expect(try Self.count("outcome", in: store) == 0, "\(agency) still holds her outcome")
                    let keys = try ContentKeys(
                        path: ContentKeys.path(besideStore: store),
                        wrapping: try DataKeyring.loadOrCreate(
                            at: harness.hub.keys.path + "/\(agency)/data-at-rest.key"))
                    let request = try #require(requestIDs.first { $0["agency"] == agency }?["id"] as String?)
                    #expect(try !keys.hasKey("request:\(request)"), "\(agency) still holds the request's key")
                }
                #expect(try Self.count("item", in: deskStore) == 0)
                // The hub's own copy of the decided enquiry went too, its key first, with a ledger entry.
                #expect(said.contains("1 closed record erased at the hub"), "\(said)")
                let hubCopy = try harness.query { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM enquiry WHERE id = ?", arguments: [enquiry.id])
                }
                #expect(hubCopy == 0)
                let hubKeys = try harness.contentKeys(
                    wrapping: try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/coordinator/data-at-rest.key"))
                #expect(try !hubKeys.hasKey("enquiry:\(enquiry.id)"))
                let erasures = try harness.query { db in
                    try String.fetchAll(
                        db,
                        sql: "SELECT recipient FROM record_of_sharing WHERE enquiry_id = ? AND purpose LIKE 'erased:%'",
                        arguments: [enquiry.id])
                }
                #expect(erasures == ["erasure"])

                // Not confirmed: sent again, with the same copy id, and shown as waiting.
                let told = try await harness.take(2, from: "spa.notices", as: "spa")
                let spaCopies = try told.map { try Correction(json: $0.payload, source: "spa's copy") }
                #expect(spaCopies.map(\.action) == [.erase, .erase])
                #expect(spaCopies[0].copyID == spaCopies[1].copyID && spaCopies[0].cases == [enquiry.id])
                #expect(
                    spaCopies[0].person
                        == Person(forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01")))
                let open = try await waiting(harness)
                #expect(open.count == 1)
                let parties = (open.first?["waiting"] as? [[String: Any]])?.compactMap { $0["party"] as? String }
                #expect(parties == ["spa"])
                let status = try await harness.mashctl(["status", "--json"] + (try harness.operatorOptions()))
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any])
                let findings = (report["findings"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }
                #expect(
                    findings.contains { $0.hasPrefix("erase: 8 of 9 recipients confirmed; waiting for spa (sent ") },
                    "\(findings)")

                let receipt = CorrectionReceipt(
                    correctionID: spaCopies[0].correctionID, copyID: spaCopies[0].copyID, result: .applied, copies: 1,
                    at: Date())
                try await harness.send(
                    receipt.json, type: .correctionReceipt, from: "spa", routingKey: "correction-receipt")
                try await harness.eventually("the erasure complete") {
                    try harness.query { db in
                        try Bool.fetchOne(db, sql: "SELECT closed_at IS NOT NULL FROM correction")
                    } == true
                }
                #expect(try await waiting(harness).isEmpty)

                // Later research about her returns nothing: every adapter declines, naming the erasure.
                var again = Self.enquiryAboutAmy()
                again.id = TestNames.messageID()
                let later = again
                try await harness.send(later.json, type: .enquiry)
                try await harness.eventually("seven answers to the later enquiry", within: .seconds(60)) {
                    try harness.query { db in
                        try String.fetchAll(
                            db, sql: "SELECT outcome FROM request WHERE enquiry_id = ? AND outcome IS NOT NULL",
                            arguments: [later.id])
                    }.count == 7
                }
                let outcomes = try harness.query { db in
                    try String.fetchAll(
                        db, sql: "SELECT DISTINCT outcome FROM request WHERE enquiry_id = ?", arguments: [later.id])
                }
                #expect(outcomes == ["declined"])
                let policeLog = try String(contentsOfFile: harness.scratch.file("adapter-police.log"), encoding: .utf8)
                #expect(policeLog.contains("research held back"))

                // Each step is on the ledger, which still verifies.
                let steps = try harness.query { db in
                    try Row.fetchAll(
                        db,
                        sql: "SELECT sender, recipient, purpose FROM record_of_sharing WHERE enquiry_id = ?",
                        arguments: [spaCopies[0].correctionID])
                }
                let chases = try harness.query { db in
                    try Int.fetchOne(db, sql: "SELECT sum(chases) FROM correction_copy") ?? 0
                }
                #expect(chases >= 1)
                #expect(steps.filter { ($0["purpose"] as String).hasPrefix("correction: erasure") }.count == 9 + chases)
                #expect(
                    steps.filter { ($0["purpose"] as String).hasPrefix("correction receipt: erase applied") }.count == 9
                )
                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verified.status == 0, "\(verified.output)")
            }
        }

        @Test(
            "a rectification and a marked opinion reach an adapter and a desk, which amend their copies; a restriction hides the desk item and holds back research until lifted"
        )
        func rectifyMarkRestrict() async throws {
            try await Harness.with("rectify") { harness in
                try await harness.startInProcess()
                let config = try harness.adapterConfig("police", research: AdapterTests.commandResearch("answer"))
                let adapterStore = try Self.store(of: config)
                try await harness.startAdapter(config, agency: "police")
                let deskStore = try await harness.startDesk(
                    "decision-maker", queue: "decision-maker.packages", shows: ["mash.decision-package/1"])
                var enquiry = Self.enquiryAboutAmy()
                enquiry.agencies = ["police"]
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("the package on the desk", within: .seconds(60)) {
                    try Self.count("item", in: deskStore) == 1
                }
                func confirmed(_ count: Int) async throws {
                    try await harness.eventually("\(count) receipts") {
                        try harness.query { db in
                            try Int.fetchOne(
                                db, sql: "SELECT count(*) FROM correction_copy WHERE confirmed_at IS NOT NULL")
                        } == count
                    }
                }
                let policeKeys = try ContentKeys(
                    path: ContentKeys.path(besideStore: adapterStore),
                    wrapping: try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/police/data-at-rest.key"))
                let deskKeys = try ContentKeys(
                    path: ContentKeys.path(besideStore: deskStore),
                    wrapping: try DataKeyring.loadOrCreate(
                        at: harness.hub.keys.path + "/decision-maker/data-at-rest.key"))
                func heldRequest() throws -> ResearchRequest {
                    let row = try #require(
                        try Harness.sqlite(adapterStore).read {
                            try Row.fetchOne($0, sql: "SELECT id, body FROM request")
                        })
                    let id: String = row["id"]
                    return try ResearchRequest(
                        json: try policeKeys.open(
                            Array(row["body"] as Data), scope: "request:\(id)", context: Array("request:\(id)".utf8)),
                        source: "police's copy")
                }
                func heldItem() throws -> (document: String, restricted: Bool, notes: Int) {
                    try Harness.sqlite(deskStore).read { db in
                        let row = try #require(try Row.fetchOne(db, sql: "SELECT id, body, restricted_by FROM item"))
                        let id: String = row["id"]
                        let body = try deskKeys.open(
                            Array(row["body"] as Data), scope: "item:\(id)", context: Array("item:\(id)".utf8))
                        let notes = try Int.fetchOne(db, sql: "SELECT count(*) FROM item_note") ?? 0
                        return (String(decoding: body, as: UTF8.self), (row["restricted_by"] as String?) != nil, notes)
                    }
                }

                _ = try await subject(harness, ["rectify"] + Self.amyOptions + ["--set", "surname=Carter-Smith"])
                try await confirmed(2)
                #expect(try heldRequest().subject.surname == "Carter-Smith")
                let rectified = try heldItem()
                #expect(rectified.document.contains("Carter-Smith") && rectified.notes == 1)

                _ = try await subject(
                    harness,
                    ["mark-opinion-incorrect"] + Self.amyOptions + ["--note", "The view of the mother was wrong"])
                try await confirmed(4)
                #expect(try Self.count("opinion_mark", in: adapterStore) == 1)
                #expect(try heldItem().notes == 2)

                _ = try await subject(harness, ["restrict"] + Self.amyOptions)
                try await confirmed(6)
                #expect(try heldItem().restricted)
                #expect(try Self.count("suppression", in: adapterStore) == 1)
                _ = try await subject(harness, ["lift"] + Self.amyOptions)
                try await confirmed(8)
                #expect(try !heldItem().restricted)
                #expect(try Self.count("suppression", in: adapterStore) == 0)
                let bad = try await harness.mashctl(
                    ["subject", "rectify"] + Self.amyOptions + [
                        "--set", "nhsNumber=1234567890", "--reason", "R-1", "--keys", harness.hub.keys.path, "--staff",
                        "d.khan",
                    ] + (try harness.operatorOptions()))
                #expect(bad.status != 0, "\(bad.output)")
                #expect(bad.output.contains("--set: field 'nhsNumber': is not an NHS number"), "\(bad.output)")
            }
        }

        @Test("consent withdrawn after the package went: every recipient of the child's data is told, as a restriction")
        func withdrawalAfterPackage() async throws {
            try await Harness.with("withdrawal-after-package", routing: try Self.routing(chase: "1h")) { harness in
                let agencies = try await harness.agencies()
                try await harness.startInProcess()
                let enquiry = Self.enquiryAboutAmy()
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                try await harness.send(
                    ConsentWithdrawal(enquiryID: enquiry.id, withdrawnAt: Date(), recordedBy: "spa-worker-17").json,
                    type: .consentWithdrawal)
                let desk = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let copy = try Correction(json: desk[0].payload, source: "the decision maker's copy")
                #expect(copy.action == .restrict && copy.cases == [enquiry.id] && copy.person == Self.amy)
                #expect(copy.reason.hasPrefix("consent withdrawn at "))
                try await harness.eventually("every agency told") {
                    agencies.values.allSatisfy {
                        $0.received.value.corrections.map(\.action) == [.restrict]
                    }
                }
                let requested = try harness.query { db in
                    try String.fetchOne(db, sql: "SELECT requested_by FROM correction")
                }
                #expect(requested == "spa-worker-17")
            }
        }

        @Test("a kill -9 of the coordinator while it fans out an erasure loses no recipient")
        func crashDuringFanOut() async throws {
            try await Harness.with("erasure-crash", routing: try Self.routing(chase: "1h")) { harness in
                let agencies = try await harness.agencies()
                var coordinator = try await harness.startProcess()
                let enquiry = Self.enquiryAboutAmy()
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")

                async let said = subject(harness, ["erase"] + Self.amyOptions)
                try await harness.eventually("the erasure committed", within: .seconds(30)) {
                    try harness.query { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM correction") } == 1
                }
                _ = coordinator.stop()
                let output = try await said
                #expect(output.contains("8 recipients told"), "\(output)")
                coordinator = try await harness.startProcess()

                // The seven agencies confirm by themselves; the decision maker's copy waits on its queue.
                try await harness.eventually("every agency's copy confirmed", within: .seconds(60)) {
                    let confirmed = try harness.query { db in
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM correction_copy WHERE confirmed_at IS NOT NULL")
                    }
                    return confirmed == 7 && agencies.values.allSatisfy { !$0.received.value.corrections.isEmpty }
                }
                let desk = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let copy = try Correction(json: desk[0].payload, source: "the decision maker's copy")
                #expect(copy.action == .erase && copy.cases == [enquiry.id])
                for agency in agencies.values {
                    #expect(agency.received.value.corrections.allSatisfy { $0.cases == [enquiry.id] })
                }
                let copies = try harness.query { db in
                    try String.fetchAll(db, sql: "SELECT party FROM correction_copy ORDER BY party")
                }
                #expect(copies == (TestHub.agencies + ["decision-maker"]).sorted())
                _ = coordinator.stop()
            }
        }
    }
}
