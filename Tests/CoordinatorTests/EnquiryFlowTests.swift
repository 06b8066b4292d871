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
    /// The coordinator against the real broker. Serialized: these tests share the hub's queues.
    @Suite("Coordinator: enquiries end to end")
    struct EnquiryFlowTests {
        @Test("a Red enquiry to seven agencies: seven sealed requests, seven responses, one package, a verified ledger")
        func redEnquiryToSevenAgencies() async throws {
            try await Harness.with("seven", routing: try Harness.allMandatoryRouting()) { harness in
                let agencies = try await harness.agencies()
                try await harness.startInProcess()

                let enquiry = TestHub.enquiry(rag: .red)
                try await harness.send(enquiry.json, type: .enquiry)
                let package = try #require(
                    try await harness.take(1, from: "decision-maker.packages", as: "decision-maker").first)
                #expect(package.sender == "coordinator")
                #expect(package.type == DocumentType.decisionPackage.rawValue)
                let document = try DecisionPackage(json: package.payload, source: "package")
                #expect(document.enquiry == enquiry)
                #expect(Set(document.responses.map(\.agency)) == Set(TestHub.agencies))
                #expect(document.notAnswered.isEmpty)
                #expect(document.responses.first { $0.agency == "turning-point" }?.outcome == .noTrace)

                for (id, agency) in agencies {
                    let received = agency.received.value
                    #expect(received.requests.count == 1, "\(id) got \(received.requests.count) requests")
                    #expect(received.requests.first?.enquiryID == enquiry.id)
                }
                // Data minimisation: each agency saw only its configured fields.
                let education = try #require(agencies["education"]?.received.value.requests.first)
                #expect(education.subject.nhsNumber == nil && education.subject.upn == enquiry.subject.upn)
                #expect(education.household.isEmpty && education.reason == nil)
                let health = try #require(agencies["health"]?.received.value.requests.first)
                #expect(health.subject.nhsNumber == enquiry.subject.nhsNumber && health.subject.upn == nil)
                #expect(health.reason == enquiry.reason && health.household.count == 1)

                // The record of sharing: 7 requests out, 7 responses in, 1 package, chained and verified.
                let store = try harness.readModel()
                let entries = try RecordOfSharing.entries(store, from: nil, to: nil)
                #expect(entries.count == 15)
                #expect(entries.filter { $0.sender == "coordinator" && $0.recipient != "decision-maker" }.count == 7)
                #expect(entries.filter { $0.recipient == "coordinator" }.count == 7)
                #expect(entries.last?.recipient == "decision-maker")
                #expect(entries.first { $0.sender == "health" }?.dataCategories == "special-category")
                #expect(entries.first { $0.sender == "police" }?.lawfulBasis == "6(1)(e); DPA 2018 Sch 1 para 18")
                let verification = try RecordOfSharing.verify(store)
                #expect(verification.entries == 15 && verification.firstBad == nil)

                // No personal data in clear anywhere in the store file.
                await harness.stopInProcess()
                let verified = try Shell.run(
                    ChildProcess.built("mashctl"), ["audit", "verify", "--store", harness.store])
                #expect(verified.contains("15 entries, chain intact"))
                let csv = try Shell.run(
                    ChildProcess.built("mashctl"),
                    ["audit", "export", "--store", harness.store, "--from", "2020-01-01"])
                let rows = csv.split(separator: "\r\n").filter { $0.contains(",") }
                #expect(rows.first?.hasPrefix("seq,time,from,to,purpose,lawful_basis") == true)
                #expect(rows.count == 16)
                #expect(!csv.contains("Testperson"))
                for secret in ["Testperson", "9434765919", "Sample Street", "bruising"] {
                    #expect(try !harness.storeHoldsInClear(secret), "'\(secret)' is in the store in clear")
                }

                // Someone with the file (or the database's owner role) edits one entry: verify names it.
                try harness.modify { db in
                    try Harness.dropTrigger("record_of_sharing_no_update", on: "record_of_sharing", in: db)
                    try db.execute(sql: "UPDATE record_of_sharing SET recipient = 'someone-else' WHERE seq = 5")
                }
                let tampered = try RecordOfSharing.verify(try harness.readModel())
                #expect(tampered.firstBad?.seq == 5)
                #expect {
                    try Shell.run(ChildProcess.built("mashctl"), ["audit", "verify", "--store", harness.store])
                } throws: { error in
                    let failure = error as? Shell.Failure
                    return failure?.status == 1 && failure?.output.contains("BROKEN at entry 5") == true
                }
            }
        }

        @Test("an optional agency still open when the mandatory ones have answered is cancelled and listed")
        func optionalAgencyCancelled() async throws {
            try await Harness.with("optional") { harness in
                _ = try await harness.agencies(["police", "health"])
                let turningPoint = try await harness.agencies(["turning-point"], answering: false)["turning-point"]!
                try await harness.startInProcess()
                try await harness.send(
                    TestHub.enquiry(agencies: ["police", "health", "turning-point"]).json, type: .enquiry)
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let document = try DecisionPackage(json: package[0].payload, source: "package")
                #expect(Set(document.responses.map(\.agency)) == ["police", "health"])
                #expect(document.notAnswered == ["turning-point"])
                try await harness.eventually("the cancellation at Turning Point") {
                    turningPoint.received.value.notices.contains { $0.type == .requestCancellation }
                }
            }
        }

        @Test("mashctl enquiry open sends a checked file; a bad file names the field and sends nothing")
        func enquiryOpenCommand() async throws {
            try await Harness.with("mashctl-open") { harness in
                let agencies = try await harness.agencies(["education"])
                try await harness.startInProcess()
                let spa = try harness.broker.url(asUser: "spa")
                let url = "amqp://spa:\(spa.password)@\(spa.host):\(spa.port)/\(spa.vhost)"
                let good = harness.scratch.file("enquiry.json")
                let enquiry = TestHub.enquiry(rag: .amber, agencies: ["education"])
                try Data(enquiry.json).write(to: URL(fileURLWithPath: good))
                let bad = harness.scratch.file("bad.json")
                let badJSON = String(decoding: enquiry.json, as: UTF8.self)
                    .replacingOccurrences(of: "\"dateOfBirth\":\"2016-03-14\"", with: "\"dateOfBirth\":\"2016-14-03\"")
                try badJSON.write(toFile: bad, atomically: true, encoding: .utf8)

                #expect {
                    try Shell.run(
                        ChildProcess.built("mashctl"),
                        ["enquiry", "open", "--file", bad, "--keys", harness.hub.keys.path, "--broker", url])
                } throws: { error in
                    let output = (error as? Shell.Failure)?.output ?? ""
                    return output.contains("bad.json: field 'subject.dateOfBirth': '2016-14-03' is not a date")
                }
                let sent = try Shell.run(
                    ChildProcess.built("mashctl"),
                    ["enquiry", "open", "--file", good, "--keys", harness.hub.keys.path, "--broker", url])
                #expect(sent.contains("sent enquiry \(enquiry.id) (amber)"))
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                #expect(try DecisionPackage(json: package[0].payload, source: "package").enquiry.id == enquiry.id)
                #expect(agencies["education"]?.received.value.requests.count == 1)
            }
        }

        @Test("the record of sharing refuses UPDATE and DELETE")
        func ledgerIsAppendOnly() async throws {
            try await Harness.with("append-only") { harness in
                _ = try await harness.agencies(["education"])
                try await harness.startInProcess()
                try await harness.send(TestHub.enquiry(rag: .green, agencies: ["education"]).json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                for statement in ["UPDATE record_of_sharing SET purpose = 'x'", "DELETE FROM record_of_sharing"] {
                    #expect(Comment(rawValue: statement)) {
                        try harness.modify { try $0.execute(sql: statement) }
                    } throws: { error in
                        "\(error)".contains("the record of sharing is append-only")
                    }
                }
            }
        }

        @Test("no consent and no override: refused to the SPA with the reason, nothing sent to any agency")
        func noConsentRefused() async throws {
            try await Harness.with("no-consent") { harness in
                try await harness.startInProcess()

                let enquiry = TestHub.enquiry(consent: .notGiven("parent refused"))
                try await harness.send(enquiry.json, type: .enquiry)
                let refusal = try #require(try await harness.take(1, from: "spa.notices", as: "spa").first)
                let notice = try Notice(json: refusal.payload, source: "refusal")
                #expect(notice.type == .enquiryRefusal && notice.enquiryID == enquiry.id)
                #expect(notice.reason?.contains("no consent and no override") == true)
                #expect(notice.reason?.contains("parent refused") == false, "free text from the SPA in a logged reason")
                for agency in TestHub.agencies {
                    #expect(try await harness.admin.inspect(queue: "agency.\(agency).enquiries").messageCount == 0)
                }
                let requests = try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM request") }
                #expect(requests == 0)
                let ledger = try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record_of_sharing") }
                #expect(ledger == 0)
            }
        }

        @Test("an override without every asked agency's agreement is refused, naming the agency")
        func overrideMissingAgreement() async throws {
            try await Harness.with("override") { harness in
                try await harness.startInProcess()
                let override = ConsentOverride(
                    practiceManager: "pm-3", agencies: [AgencyAgreement(agency: "police", agreedBy: "DS 4411")],
                    rationale: .riskOfSignificantHarm, details: "Disclosure of injury; parents not to be alerted.",
                    agreedAt: Date())
                let enquiry = TestHub.enquiry(agencies: ["police", "health"], consent: .overridden(override))
                try await harness.send(enquiry.json, type: .enquiry)
                let refusal = try #require(try await harness.take(1, from: "spa.notices", as: "spa").first)
                let reason = try Notice(json: refusal.payload, source: "refusal").reason ?? ""
                #expect(reason.contains("no agreement from health"))
                #expect(try await harness.admin.inspect(queue: "agency.police.enquiries").messageCount == 0)
            }
        }

        @Test(
            """
            a valid override is accepted: requests go out under it, and the record of sharing keeps who agreed, the \
            rationale's reference, the justification and the exemption, under the hash
            """)
        func validOverride() async throws {
            try await Harness.with("override-ok") { harness in
                let agencies = try await harness.agencies(["police"])
                try await harness.startInProcess()
                let override = ConsentOverride(
                    practiceManager: "pm-3", agencies: [AgencyAgreement(agency: "police", agreedBy: "DS 4411")],
                    rationale: .preventionOrDetectionOfCrime, details: "Alleged offence against the child.",
                    agreedAt: Date(), reference: "SD-2026-88")
                var enquiry = TestHub.enquiry(agencies: ["police"], consent: .overridden(override))
                enquiry.justification = "s47 threshold met: strategy discussion"
                enquiry.exemption = "DPA 2018 Sch 2 para 2"
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                #expect(agencies["police"]?.received.value.requests.first?.consent == "overridden")

                let grounds = try harness.query { db in
                    try Row.fetchAll(
                        db, sql: "SELECT seq, recipient, grounds FROM record_of_sharing WHERE enquiry_id = ?",
                        arguments: [enquiry.id])
                }
                let toPolice = try #require(grounds.first { $0["recipient"] == "police" })
                let text: String = toPolice["grounds"]
                #expect(
                    text.hasPrefix(
                        "consent overridden for prevention-or-detection-of-crime (reference SD-2026-88), agreed "),
                    "\(text)")
                #expect(text.contains("by the Practice Manager pm-3 and police (DS 4411)"), "\(text)")
                #expect(
                    text.hasSuffix(
                        "; justification: s47 threshold met: strategy discussion; exemption: DPA 2018 Sch 2 para 2"),
                    "\(text)")
                #expect(!text.contains("Alleged offence"), "the override's free text stays out of the ledger")
                #expect(grounds.contains { $0["recipient"] == "decision-maker" && $0["grounds"] == text })
                let csv = try await harness.mashctl(["audit", "export", "--store", harness.store])
                #expect(csv.output.contains("exemption: DPA 2018 Sch 2 para 2"), "\(csv.output)")

                // The grounds are under the entry's hash: rewriting them is found.
                let seq: Int64 = toPolice["seq"]
                try harness.modify { db in
                    try Harness.dropTrigger("record_of_sharing_no_update", on: "record_of_sharing", in: db)
                    try db.execute(
                        sql: "UPDATE record_of_sharing SET grounds = 'consent given' WHERE seq = ?", arguments: [seq])
                }
                #expect(try RecordOfSharing.verify(try harness.readModel()).firstBad?.seq == seq)
            }
        }

        @Test("consent withdrawn: every outstanding request is cancelled and its agency told")
        func withdrawal() async throws {
            try await Harness.with("withdrawal") { harness in
                let agencies = try await harness.agencies(answering: false)
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry()
                try await harness.send(enquiry.json, type: .enquiry)
                try await harness.eventually("all seven requests received") {
                    agencies.values.allSatisfy { $0.received.value.requests.count == 1 }
                }
                try await harness.send(
                    ConsentWithdrawal(enquiryID: enquiry.id, withdrawnAt: Date(), recordedBy: "spa-worker-17").json,
                    type: .consentWithdrawal)
                try await harness.eventually("a cancellation at every agency") {
                    agencies.values.allSatisfy {
                        $0.received.value.notices.contains {
                            $0.type == .requestCancellation && $0.enquiryID == enquiry.id
                        }
                    }
                }
                let statuses = try harness.query { try String.fetchAll($0, sql: "SELECT DISTINCT status FROM request") }
                #expect(statuses == ["cancelled"])
                let status = try harness.query { try String.fetchOne($0, sql: "SELECT status FROM enquiry") }
                #expect(status == "withdrawn")
            }
        }

        @Test("a duplicate response changes nothing; a response from the wrong agency goes to the DLQ with its reason")
        func duplicateAndWrongAgency() async throws {
            try await Harness.with("duplicates") { harness in
                let agencies = try await harness.agencies(["police", "housing"], answering: false)
                try await harness.startInProcess()
                try await harness.send(TestHub.enquiry(agencies: ["police", "housing"]).json, type: .enquiry)
                try await harness.eventually("both requests received") {
                    agencies.values.allSatisfy { $0.received.value.requests.count == 1 }
                }
                let police = try #require(agencies["police"])
                let housing = try #require(agencies["housing"])
                let policeRequest = try #require(police.received.value.requests.first)

                // Housing answers the police's request, signed as housing.
                try await housing.respond(to: policeRequest)
                let dead = try await harness.admin.consume(queue: "coordinator.responses.dlq")
                let letter = try await dead.next(within: .seconds(30), "the wrong agency's response in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "wrongAgency")
                #expect(letter.properties.headers["x-mash-detail"]?.string?.contains("signed by housing") == true)
                try letter.ack()

                // The police answer, then the very same message again.
                let message = try harness.hub.sealed(
                    police.response(to: policeRequest).json, type: .researchResponse, from: "police", to: "coordinator")
                try await police.publish(message)
                try await police.publish(message)
                try await harness.eventually("the police answer stored") {
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'police'") == "answered"
                    }
                }
                try await Task.sleep(for: .milliseconds(500))
                let fromPolice = try harness.query {
                    try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM record_of_sharing WHERE sender = 'police'")
                }
                #expect(fromPolice == 1)
                let housingStatus = try harness.query {
                    try String.fetchOne($0, sql: "SELECT status FROM request WHERE agency = 'housing'")
                }
                #expect(housingStatus == "sent")
                #expect(try await harness.admin.inspect(queue: "coordinator.responses").messageCount == 0)
                #expect(try await harness.admin.inspect(queue: "decision-maker.packages").messageCount == 0)
            }
        }

        @Test("an enquiry to an agency whose key the hub lacks goes to the DLQ whole (cannotSeal), nothing sent")
        func missingAgencyKey() async throws {
            try await Harness.with("missing-key") { harness in
                try await harness.startInProcess()
                try FileManager.default.removeItem(atPath: harness.hub.keys.file("yos"))
                try await harness.send(TestHub.enquiry(agencies: ["police", "yos"]).json, type: .enquiry)
                let dead = try await harness.admin.consume(queue: "coordinator.intake.dlq")
                let letter = try await dead.next(within: .seconds(30), "the enquiry in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "cannotSeal")
                #expect(letter.properties.headers["x-mash-detail"]?.string?.contains("'yos'") == true)
                try letter.ack()
                #expect(try await harness.admin.inspect(queue: "agency.police.enquiries").messageCount == 0)
                let enquiries = try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") }
                #expect(enquiries == 0)
            }
        }

        @Test("an invalid enquiry is dead-lettered naming the field, never its value")
        func invalidEnquiry() async throws {
            try await Harness.with("invalid") { harness in
                try await harness.startInProcess()
                var json = String(decoding: TestHub.enquiry().json, as: UTF8.self)
                json = json.replacingOccurrences(of: "\"rag\":\"red\"", with: "\"rag\":\"purple\"")
                try await harness.send(Array(json.utf8), type: .enquiry)
                let dead = try await harness.admin.consume(queue: "coordinator.intake.dlq")
                let letter = try await dead.next(within: .seconds(30), "the invalid enquiry in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "invalidDocument")
                let detail = letter.properties.headers["x-mash-detail"]?.string ?? ""
                #expect(detail.contains("'rag'") && !detail.contains("purple"))
                try letter.ack()
            }
        }

        @Test("an enquiry with a member named twice is refused as JSON that is not valid, not read as Red")
        func duplicateMember() async throws {
            try await Harness.with("duplicate-member") { harness in
                try await harness.startInProcess()
                var json = String(decoding: TestHub.enquiry(rag: .green).json, as: UTF8.self)
                json = json.replacingOccurrences(of: "\"rag\":\"green\"", with: "\"rag\":\"green\",\"rag\":\"red\"")
                try await harness.send(Array(json.utf8), type: .enquiry)
                let dead = try await harness.admin.consume(queue: "coordinator.intake.dlq")
                let letter = try await dead.next(within: .seconds(30), "the enquiry in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "invalidDocument")
                let detail = letter.properties.headers["x-mash-detail"]?.string ?? ""
                #expect(detail.hasPrefix("not valid JSON: the member 'rag' appears twice at line 1"), "\(detail)")
                try letter.ack()
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") } == 0)
            }
        }
    }
}
