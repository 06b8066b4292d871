import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHProtocol
import MASHReadModel
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    /// The information sharing agreement's second set of duties: key revocation, signatories, the breach
    /// clock, the chain's checkpoints and staff acting as themselves.
    @Suite("Coordinator: information governance II")
    struct GovernanceTests {
        @Test("after keys revoke, a response signed with the revoked key is dead-lettered keyRevoked, no restart")
        func revokedKey() async throws {
            try await Harness.with("key-revoked") { harness in
                let police = try #require(try await harness.agencies(["police"], answering: false)["police"])
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("police got the request") {
                    police.received.value.requests.count == 1
                }
                let request = try #require(police.received.value.requests.first)
                let old = try harness.hub.keyPair("police").kid

                let revoked = try await harness.mashctl(
                    [
                        "keys", "revoke", "--agency", "police", "--kid=\(old)", "--reason", "laptop stolen",
                        "--keys", harness.hub.keys.path,
                    ])
                #expect(revoked.status == 0, "\(revoked.output)")
                #expect(revoked.output.contains("warning: police has no signing key left that is not revoked"))
                let dead = try await harness.admin.consume(queue: HubQueues.responses + ".dlq")
                try await police.respond(to: request)
                let refused = try await dead.next(within: .seconds(30), "the response signed with the revoked key")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "keyRevoked")
                try refused.ack()
                #expect(
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'police'")
                    } != "answered")

                // Police's new key: its answer is accepted, still without a restart.
                // A minute newer, so it sorts after the first key even when both were made in the same second.
                _ = try KeyDirectory.generate(agency: "police", in: harness.hub.keys.path, now: Date() + 60)
                #expect(try harness.hub.keyPair("police").kid != old)
                try await police.respond(to: request)
                try await harness.eventually("the answer under the new key recorded") {
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'police'")
                    } == "answered"
                }
                let again = try await harness.mashctl(
                    [
                        "keys", "revoke", "--agency", "police", "--kid", "not-a-kid", "--reason", "typo",
                        "--keys", harness.hub.keys.path,
                    ])
                #expect(again.status != 0)
                #expect(again.output.contains("no key with kid 'not-a-kid'"))
            }
        }

        @Test("a party not in signatories.yaml receives nothing: its request is not sent, and the SPA is told why")
        func notSignatory() async throws {
            try await Harness.with("not-signatory") { harness in
                try harness.signatory("housing", nil)
                let agencies = try await harness.agencies(["police", "health", "housing"])
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police", "health", "housing"])
                try await harness.send(enquiry.json, type: .enquiry)
                let told = try await harness.take(1, from: "spa.notices", as: "spa")
                let notice = try Notice(json: told[0].payload, source: "spa.notices")
                #expect(notice.type == .requestNotSent && notice.agency == "housing")
                #expect(notice.enquiryID == enquiry.id && notice.requestID == nil)
                #expect(notice.reason?.hasPrefix("notSignatory: 'housing' has not signed") == true)
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let delivered = try DecisionPackage(json: package[0].payload, source: "package")
                #expect(Set(delivered.responses.map(\.agency)) == ["police", "health"])
                #expect(agencies["housing"]?.received.value.requests.isEmpty == true)
                #expect(try await harness.admin.inspect(queue: "agency.housing.enquiries").messageCount == 0)
                let ledger = try harness.query {
                    try Int.fetchOne($0, sql: "SELECT count(*) FROM record_of_sharing WHERE recipient = 'housing'")
                }
                #expect(ledger == 0)
                let requests = try harness.query {
                    try String.fetchAll($0, sql: "SELECT agency FROM request ORDER BY agency")
                }
                #expect(requests == ["health", "police"])
            }
        }

        @Test("status, with a test clock 80 days before the calendar's end, warns of it and of a party leaving")
        func paperworkWarnings() async throws {
            try await Harness.with("paperwork") { harness in
                let holidays = Repository.path("Config/calendar/bank-holidays.json")
                let data = try #require(FileManager.default.contents(atPath: holidays))
                let last = try #require(try BankHolidays.englandAndWales(fromGOVUK: data, source: holidays).max())
                let day = LocalDate(daysSinceEpoch: last.daysSinceEpoch - 80)
                let leaves = LocalDate(daysSinceEpoch: day.daysSinceEpoch + 30)
                try harness.signatory("health", "{signed: 2024-04-01, withdraws: \(leaves)}")
                try harness.signatory("housing", nil)
                try await harness.startInProcess()
                let options =
                    try harness.operatorOptions() + [
                        "--holidays", holidays, "--signatories", harness.signatoriesFile.value,
                        "--schools", Repository.path("Config/schools"),
                    ]
                let drill = try await harness.mashctl(["status", "--at", "\(day)T10:00:00Z"] + options)
                let output = drill.output.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(
                    of: #"\s+"#, with: " ", options: .regularExpression)
                #expect(output.contains("the bank-holiday file ends on \(last) (in 80 days)"), "\(drill.output)")
                #expect(output.contains("leaves the information sharing agreement on \(leaves) (in 30 days)"))
                #expect(output.contains("'housing' has not signed"))
                let today = try await harness.mashctl(["status"] + options)
                #expect(!today.output.contains("bank-holiday file ends"), "\(today.output)")
                let bad = try await harness.mashctl(["status", "--at", "tomorrow"] + options)
                #expect(bad.status == 64 && bad.output.contains("--at 'tomorrow'"))
            }
        }

        @Test("audit verify --checkpoints fails after the last 3 entries are cut or entry 5 is rewritten and re-hashed")
        func checkpoints() async throws {
            try await Harness.with("checkpoints") { harness in
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                for _ in 0..<2 {
                    try await harness.send(TestHub.enquiry(rag: .red, agencies: ["police"]).json, type: .enquiry)
                }
                _ = try await harness.take(2, from: "decision-maker.packages", as: "decision-maker")
                try await harness.eventually("a checkpoint of the whole chain, in the file") {
                    let (head, signed) = try harness.query { db in
                        (
                            try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record_of_sharing") ?? 0,
                            try Int64.fetchOne(db, sql: "SELECT max(entries) FROM audit_checkpoint") ?? -1
                        )
                    }
                    let lines = (try? String(contentsOfFile: harness.checkpointFile, encoding: .utf8))?.split(
                        separator: "\n")
                    let stored = try harness.query {
                        try Int.fetchOne($0, sql: "SELECT count(*) FROM audit_checkpoint")
                    }
                    return head >= 6 && signed == head && lines?.count == stored
                }
                await harness.stopInProcess()

                let keys = ["--keys", harness.hub.keys.path]
                func verify(_ store: String, checkpoints: String? = nil) async throws -> (status: Int32, output: String)
                {
                    try await harness.mashctl(
                        ["audit", "verify", "--store", store] + keys
                            + (checkpoints.map { ["--checkpoints", $0] } ?? []) + ["--broker"]
                            + [try harness.operatorOptions()[1]])
                }
                let untouched = try harness.copyStore("untouched")
                let fromFile = try await verify(untouched, checkpoints: harness.checkpointFile)
                #expect(fromFile.status == 0, "\(fromFile.output)")
                #expect(fromFile.output.contains("record of sharing agrees with"))
                let fromQueue = try await verify(untouched, checkpoints: "audit.checkpoints")
                #expect(fromQueue.status == 0, "\(fromQueue.output)")
                // Read without taking: the broker returns them once mashctl's connection has closed.
                try await MASHTesting.eventually("the checkpoints back on audit.checkpoints") {
                    try await harness.admin.inspect(queue: "audit.checkpoints").messageCount > 0
                }

                // (a) The last 3 entries deleted, as someone with the file would: the chain alone still verifies.
                let cut = try harness.copyStore("cut")
                try harness.modify(store: cut) { db in
                    try Harness.dropTrigger("record_of_sharing_no_delete", on: "record_of_sharing", in: db)
                    try db.execute(
                        sql: "DELETE FROM record_of_sharing WHERE seq > (SELECT max(seq) - 3 FROM record_of_sharing)")
                }
                #expect(try await verify(cut).status == 0)
                let cutCheck = try await verify(cut, checkpoints: harness.checkpointFile)
                #expect(cutCheck.status == 1)
                #expect(cutCheck.output.contains("entries were cut from the end"), "\(cutCheck.output)")

                // (b) Entry 5 rewritten and every hash after it recomputed.
                let rewritten = try harness.copyStore("rewritten")
                try harness.modify(store: rewritten) { db in
                    try Harness.dropTrigger("record_of_sharing_no_update", on: "record_of_sharing", in: db)
                    var previous = try String.fetchOne(db, sql: "SELECT hash FROM record_of_sharing WHERE seq = 4")!
                    for row in try Row.fetchAll(db, sql: "SELECT * FROM record_of_sharing WHERE seq >= 5 ORDER BY seq")
                    {
                        var entry = Disclosure(row: row)
                        if entry.seq == 5 { entry.recipient = "someone-else" }
                        entry.previousHash = previous
                        entry.hash = entry.computedHash
                        previous = entry.hash
                        try db.execute(
                            sql:
                                "UPDATE record_of_sharing SET recipient = ?, previous_hash = ?, hash = ? WHERE seq = ?",
                            arguments: [entry.recipient, entry.previousHash, entry.hash, entry.seq])
                    }
                }
                #expect(try await verify(rewritten).status == 0)
                let rewriteCheck = try await verify(rewritten, checkpoints: harness.checkpointFile)
                #expect(rewriteCheck.status == 1)
                #expect(rewriteCheck.output.contains("rewritten at or before entry"), "\(rewriteCheck.output)")

                // A checkpoint file signed by anyone but the coordinator is refused.
                let forged = harness.scratch.file("forged.checkpoints")
                let head = try harness.query {
                    try Row.fetchOne($0, sql: "SELECT seq, hash FROM record_of_sharing ORDER BY seq DESC LIMIT 1")!
                }
                try AuditCheckpoint(entries: head["seq"], hash: head["hash"], at: Date())
                    .signed(by: try harness.hub.keyPair("police")).write(
                        toFile: forged, atomically: true, encoding: .utf8)
                let forgedCheck = try await verify(untouched, checkpoints: forged)
                #expect(forgedCheck.status == 1)
                #expect(forgedCheck.output.contains("is not genuine"), "\(forgedCheck.output)")
            }
        }

        @Test(
            "a breach tells every affected party and no other; its 72 h clock survives kill -9, warns on time, and closing records the ICO reference"
        )
        func breach() async throws {
            try await Harness.with("breach") { harness in
                let agencies = try await harness.agencies(["police", "health", "housing"])
                let first = try await harness.startProcess()
                let exposed = TestHub.enquiry(rag: .red, agencies: ["police", "health"])
                try await harness.send(exposed.json, type: .enquiry)
                try await harness.send(TestHub.enquiry(rag: .red, agencies: ["housing"]).json, type: .enquiry)
                _ = try await harness.take(2, from: "decision-maker.packages", as: "decision-maker")

                // Discovered 48 h less 6 s ago: 24 h are left 6 s from now.
                let discovered = Date(
                    timeIntervalSince1970: (Date().timeIntervalSince1970 - 48 * 3600 + 6).rounded(.down))
                let options = try harness.operatorOptions() + ["--keys", harness.hub.keys.path, "--staff", "d.khan"]
                let opened = try await harness.mashctl(
                    [
                        "breach", "open", "--summary", "Package e-mailed to the wrong team", "--discovered-at",
                        Instant.format(discovered), "--enquiries", exposed.id,
                    ] + options)
                #expect(opened.status == 0, "\(opened.output)")
                let id = try #require(
                    opened.output.split(separator: " ").dropFirst().first.map(String.init), "\(opened.output)")
                #expect(first.stop(SIGKILL) == 128 + SIGKILL)
                // What the kill interrupted (the notices' publishing, say) carries on after the restart.
                _ = try await harness.startProcess()

                let notified = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let notice = try BreachNotice(json: notified[0].payload, source: "decision maker")
                #expect(notice.breachID == id && notice.cases == [exposed.id] && notice.people >= 1)
                #expect(notice.reportBy == discovered.addingTimeInterval(72 * 3600))
                try await harness.eventually("police and health told") {
                    agencies["police"]!.received.value.breachNotices.count == 1
                        && agencies["health"]!.received.value.breachNotices.count == 1
                }
                let police = agencies["police"]!.received.value.breachNotices[0]
                #expect(police.cases == [exposed.id] && police.messages.count == 2, "the request and the answer")
                #expect(agencies["housing"]!.received.value.breachNotices.isEmpty)

                // After the kill and a restart: the 24-hours-left alert comes once, at its time, to the PM and the DPO.
                let alerts = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                let alert = try Notice(json: alerts[0].payload, source: "alert")
                #expect(alert.clock == "breach" && alert.event == .warning && alert.enquiryID == id)
                #expect(alert.at >= discovered.addingTimeInterval(48 * 3600), "not before 24 h are left")
                #expect(alert.reason?.contains("24 hours or less left") == true)
                let dpo = try await harness.take(1, from: "dpo.alerts", as: "dpo")
                #expect(try Notice(json: dpo[0].payload, source: "dpo").enquiryID == id)
                let status = try await harness.mashctl(["status"] + harness.operatorOptions())
                #expect(status.output.contains("breach \(id.prefix(8))"), "\(status.output)")

                let closed = try await harness.mashctl(
                    ["breach", "close", "--id", id, "--ico-reference", "ICO-00123456"] + options)
                #expect(closed.status == 0, "\(closed.output)")
                let row = try harness.query {
                    try Row.fetchOne(
                        $0, sql: "SELECT ico_reference, closed_by, alerted FROM breach WHERE id = ?", arguments: [id])
                }
                #expect(row?["ico_reference"] == "ICO-00123456" && row?["closed_by"] == "d.khan")
                #expect(row?["alerted"] == 1, "one stage alerted, once")
                let listed = try await harness.mashctl(["breach", "list", "--store", harness.store])
                #expect(listed.output.contains("ICO ICO-00123456"), "\(listed.output)")
                let late = try await harness.mashctl(["breach", "close", "--id", id, "--ico-reference", "X"] + options)
                #expect(late.status != 0 && late.output.contains("is already closed"), "\(late.output)")
            }
        }

        @Test(
            """
            staff act as themselves: a request signed by a staff key without the role, by someone not in staff.yaml, \
            naming someone else, or not signed at all is refused; one with the role works and audit views lists it
            """)
        func staffIdentity() async throws {
            try await Harness.with("staff") { harness in
                try await harness.startInProcess()
                let search =
                    [
                        "subject", "disclosures", "--forename", "Amy", "--surname", "Carter", "--dob", "2019-03-01",
                        "--reason", "SAR-2026-200", "--keys", harness.hub.keys.path,
                    ] + (try harness.operatorOptions())
                func actions() throws -> Int {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM operator_action") } ?? -1
                }

                // An operator may replay dead letters but not search what was shared about a person.
                let operatorSearch = try await harness.mashctl(search + ["--staff", "j.smith"])
                #expect(operatorSearch.status != 0)
                #expect(
                    operatorSearch.output.contains("roleNotAllowed")
                        && operatorSearch.output.contains(
                            "'j.smith' (operator) may not search disclosures about a person")
                        && operatorSearch.output.contains("needs dpo or auditor"),
                    "\(operatorSearch.output)")
                // A key the hub trusts, of someone not on the staff list.
                let stranger = try await harness.mashctl(search + ["--staff", "x.unlisted"])
                #expect(stranger.status != 0 && stranger.output.contains("notStaff"), "\(stranger.output)")
                let nameless = try await harness.mashctl(search)
                #expect(nameless.status == 64 && nameless.output.contains("--staff"), "\(nameless.output)")
                #expect(try actions() == 0)

                // The auditor may: the search is recorded, then shown.
                let auditorSearch = try await harness.mashctl(search + ["--staff", "r.okafor"])
                #expect(auditorSearch.status == 0, "\(auditorSearch.output)")
                #expect(try actions() == 1)

                // Signed by one member, in another's name.
                let now = Date()
                let forged = SubjectAccess(
                    SubjectRequest(
                        requestedBy: "d.khan", reason: "SAR-2026-201", references: [String(repeating: "a", count: 32)],
                        at: now, expiresAt: now.addingTimeInterval(30)))
                try await harness.send(
                    forged.json, type: .subjectAccess, from: "r.okafor", routingKey: "operator", user: "operator")
                // Not signed at all: the document as plain JSON on the operator's routing key.
                let operatorURL = try harness.broker.url(asUser: "operator")
                let plain = try await AMQPConnection.connect(
                    AMQPConfiguration(url: operatorURL, connectionName: "test unsigned"))
                try await plain.publish(
                    OutboundMessage(
                        body: forged.json,
                        properties: MessageProperties(
                            messageID: UUID().uuidString.lowercased(), type: DocumentType.subjectAccess.rawValue,
                            contentType: "application/json", headers: ["x-mash-sender": .string("d.khan")])),
                    exchange: "mash.intake", routingKey: "operator")
                await plain.close()
                let deadLetters = try await harness.admin.consume(queue: "coordinator.notifications.dlq", prefetch: 10)
                var reasons: [String] = []
                for _ in 0..<4 {
                    let letter = try await deadLetters.next(within: .seconds(30), "a refused staff request")
                    reasons.append(letter.properties.headers["x-mash-reason"]?.string ?? "?")
                    try letter.ack()
                }
                #expect(reasons.filter { $0 == "roleNotAllowed" }.count == 1, "\(reasons)")
                #expect(reasons.filter { $0 == "notStaff" }.count == 1, "\(reasons)")
                #expect(reasons.filter { $0 == "notSigner" }.count == 1, "\(reasons)")
                #expect(reasons.filter { $0 == "malformed" }.count == 1, "the unsigned one, not a JWE: \(reasons)")
                #expect(try actions() == 1)

                let views = try await harness.mashctl(["audit", "views", "--store", harness.store])
                #expect(views.status == 0, "\(views.output)")
                let lines = views.output.split(separator: "\n").filter { $0.contains("subject-access") }
                #expect(lines.count == 1 && lines[0].contains("r.okafor"), "\(views.output)")
                #expect(lines.first?.contains("SAR-2026-200") == true, "\(views.output)")
                #expect(!views.output.contains("Carter") && !views.output.contains("2019-03-01"))
                let none = try await harness.mashctl(
                    ["audit", "views", "--store", harness.store, "--staff", "j.smith", "--json"])
                #expect(none.output.hasPrefix("[") && !none.output.contains("r.okafor"), "\(none.output)")
            }
        }
    }
}
