import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHRuntime
import MASHTesting
import Sealing
import Testing

private func object(_ opened: OpenedMessage) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(opened.payload)) as? [String: Any])
}

/// The shipped routing with the return-interview clock and the authorities' chase shortened.
private func routing(within: String, chase: String = "24h") throws -> String {
    try String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8)
        .replacingOccurrences(of: "interviewWithin: 72h", with: "interviewWithin: \(within)")
        .replacingOccurrences(of: "chaseAuthoritiesEvery: 24h", with: "chaseAuthoritiesEvery: \(chase)")
}

private func child(_ forename: String, born: String) -> Person {
    Person(forename: forename, surname: "Carter", dateOfBirth: LocalDate(born))
}

private func missingReport(
    _ person: Person, risk: PoliceRisk = .medium, authority: String? = nil, episode: String = TestNames.messageID()
) -> MissingReport {
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    return MissingReport(
        episodeID: episode, policeReference: "KC/MISS/\(Int.random(in: 1000...9999))", child: person,
        missingFrom: authority == nil ? .home : .care, place: "Dock Road, Chatham",
        reportedAt: now.addingTimeInterval(-60),
        lastSeenAt: now.addingTimeInterval(-3600), risk: risk, exploitation: risk == .high ? [.countyLines] : [],
        placingAuthority: authority)
}

private func foundReport(_ episode: String) -> FoundReport {
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    return FoundReport(
        episodeID: episode, foundAt: now, foundWhere: "Gillingham station", safeAndWellDone: true,
        safeAndWellBy: "PC 4411", safeAndWellAt: now)
}

private func interview(_ episode: String, by: String = "m.osei") -> ReturnInterview {
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    return ReturnInterview(
        episodeID: episode, offeredAt: now, offeredBy: by, independent: true,
        response: .accepted, heldAt: now, themes: [.peers], record: "Agreed to tell her carer where she goes")
}

extension Harness {
    func police(_ report: MissingReport) async throws {
        try await send(report.json, type: .missingReport, from: "police", routingKey: "missing")
    }

    func police(_ report: FoundReport) async throws {
        try await send(report.json, type: .foundReport, from: "police", routingKey: "missing")
    }

    func episodeState(_ id: String) throws -> String? {
        try query { try String.fetchOne($0, sql: "SELECT state FROM missing_episode WHERE id = ?", arguments: [id]) }
    }
}

/// A placing authority's own broker: a vhost of its own on the second test node, joined to this test's hub
/// vhost by the two shovels of deploy/rabbitmq/authorities.sh, and its case system as a client of that node.
private struct PlacingAuthority {
    let vhost: TestVhost
    let admin: AMQPConnection
    let hub: Harness
    let name = "la-kent"

    static func join(_ hub: Harness) async throws -> PlacingAuthority {
        let vhost = try await TestVhost.create(
            "authority", on: try TestBroker.fromEnvironment(prefix: "MASH_AUTHORITY_"),
            definitions: Repository.path("deploy/rabbitmq/authority/definitions.json"), scratch: hub.scratch,
            slotted: false)
        let admin = try await vhost.broker.connect("authority admin")
        let authority = PlacingAuthority(vhost: vhost, admin: admin, hub: hub)
        try authority.shovels("add")
        return authority
    }

    /// `deploy/rabbitmq/authorities.sh add|remove`, run on the hub's test node for the test's vhost: the hub
    /// side as the `shovel` user, the authority's side over TLS as `hub-shovel` with its client certificate.
    func shovels(_ verb: String) throws {
        let hubURL = try hub.broker.url(asUser: "shovel")
        let remote = try vhost.broker.url(asUser: "hub-shovel")
        let tls = (vhost.broker.caFile as NSString).deletingLastPathComponent
        let port = Int(remote.port) - 1
        var arguments = [
            "RABBITMQCTL=\(hub.broker.controlScript) ctl", Repository.path("deploy/rabbitmq/authorities.sh"), verb,
            name, "--vhost", hub.vhost.name,
        ]
        if verb == "add" {
            arguments += [
                "--hub-uri", "amqp://shovel:\(hubURL.password)@127.0.0.1:\(hubURL.port)/\(hub.vhost.name)",
                "--authority-uri",
                "amqps://hub-shovel:\(remote.password)@localhost:\(port)/\(vhost.name)?cacertfile=\(tls)/ca.pem"
                    + "&certfile=\(tls)/clients/hub-shovel.pem&keyfile=\(tls)/clients/hub-shovel.key"
                    + "&verify=verify_peer&server_name_indication=localhost",
            ]
        }
        try Shell.run("/usr/bin/env", arguments)
    }

    /// The next `count` messages the hub sent across, opened as the authority.
    func take(_ count: Int, within limit: Duration = .seconds(30)) async throws -> [(OpenedMessage, String?)] {
        let deliveries = try await admin.consume(queue: "hub.inbound", prefetch: 50)
        let opener = try hub.hub.opener(name)
        var opened: [(OpenedMessage, String?)] = []
        for _ in 0..<count {
            let delivery = try await deliveries.next(within: limit, "message \(opened.count + 1) of \(count) across")
            opened.append(
                (
                    try opener.open(String(decoding: delivery.body, as: UTF8.self)),
                    delivery.properties.headers["x-mash-episode"]?.string
                ))
            try delivery.ack()
        }
        return opened
    }

    /// The authority's case system sends its return interview on its own broker.
    func send(_ interview: ReturnInterview) async throws {
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: try vhost.broker.url(asUser: "case-system"), connectionName: "test la-kent"))
        defer { Task { await connection.close() } }
        let message = try hub.hub.sealed(interview.json, type: .returnInterview, from: name, to: "coordinator")
        try await connection.publish(message, exchange: "hub.out", routingKey: "mash")
    }

    func close() async {
        try? shovels("remove")
        await admin.close()
        await vhost.remove()
    }
}

extension CoordinatorBrokerTests {
    @Suite("Missing from home and care against the real broker")
    struct MissingFlowTests {
        @Test(
            "a high-risk child open to CSC: the review, the social worker and the Practice Manager hear of it; found, then interviewed in time: no alert; another party's interview is refused"
        )
        func openToCSC() async throws {
            try await Harness.with("missing-open", routing: try routing(within: "4s")) { harness in
                try await harness.startInProcess()
                let amy = child("Amy", born: "2011-03-01")
                let open = OpenCaseUpdate(child: amy, open: true, socialWorker: "Sam Patel", team: "Area 2")
                try await harness.send(open.json, type: .openCase, from: "csc", routingKey: "open-case")
                try await harness.eventually("the open case registered") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM open_case") } == 1
                }
                let report = missingReport(amy, risk: .high)
                try await harness.police(report)
                let review = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(try object(review[0])["purpose"] as? String == "review")
                #expect(try object(review[0])["report"] as? String == "missing")
                let contact = try await harness.take(1, from: "csc.contacts", as: "csc")
                #expect(try object(contact[0])["socialWorker"] as? String == "Sam Patel")
                let document = try #require(try object(contact[0])["document"] as? [String: Any])
                #expect(document["episodeID"] as? String == report.episodeID)
                let alert = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                #expect(try object(alert[0])["purpose"] as? String == "high-risk")

                try await harness.police(foundReport(report.episodeID))
                let foundReview = try await harness.take(
                    1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(try object(foundReview[0])["report"] as? String == "found")
                #expect(try object(foundReview[0])["interviewDue"] is String)
                _ = try await harness.take(1, from: "csc.contacts", as: "csc")

                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                try await harness.send(
                    interview(report.episodeID).json, type: .returnInterview, from: "la-kent", routingKey: "missing",
                    user: "shovel")
                let refused = try await dead.next(
                    within: .seconds(30), "la-kent's interview for a child it did not place")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try refused.ack()
                try await harness.send(
                    interview(report.episodeID).json, type: .returnInterview, from: "missing-coordinator",
                    routingKey: "missing")
                try await harness.eventually("the interview concludes the episode") {
                    try harness.episodeState(report.episodeID) == "concluded"
                }
                // The clock was stopped by the interview: its moment passes with no alert. The next message on the
                // co-ordinator's queue is the next episode's review, not an alert for this one.
                let due = try harness.query {
                    try Double.fetchOne(
                        $0, sql: "SELECT interview_due FROM missing_episode WHERE id = ?",
                        arguments: [report.episodeID])
                }
                try await harness.eventually("the clock's moment to pass", within: .seconds(20)) {
                    Date().timeIntervalSince1970 > (due ?? 0) + 1
                }
                let later = missingReport(child("Ben", born: "2012-05-05"))
                try await harness.police(later)
                let next = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(next[0].type == "mash.missing-notice/1")
                #expect(try object(next[0])["episodeID"] as? String == later.episodeID)
                let alerted = try harness.query {
                    try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM missing_episode WHERE alerted_at IS NOT NULL")
                }
                #expect(alerted == 0)
            }
        }

        @Test(
            "a child not open to CSC, not interviewed in time: one alert; a found report before its missing report, a duplicate and an unknown episode do what protocol.md says"
        )
        func notOpenAndOrder() async throws {
            try await Harness.with("missing-order", routing: try routing(within: "3s")) { harness in
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let ben = child("Ben", born: "2012-05-05")
                let episode = TestNames.messageID()
                // The found report first: kept, the clock runs, the review hears of it.
                try await harness.police(foundReport(episode))
                let early = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(try object(early[0])["report"] as? String == "found")
                #expect(try harness.episodeState(episode) == "found")
                let report = missingReport(ben, episode: episode)
                try await harness.police(report)
                let review = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(try object(review[0])["report"] as? String == "missing")
                // The same report again (a new message id): ignored.
                try await harness.police(report)
                // The clock ran out: one alert to the co-ordinator.
                let alert = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(alert[0].type == "mash.sla-alert/1")
                let notice = try Notice(json: alert[0].payload, source: "test")
                #expect(notice.enquiryID == episode)
                #expect(notice.clock == "return-interview")
                #expect(notice.event == .breach)
                // Nothing else came for this episode: the next message is another child's review.
                let other = missingReport(child("Cara", born: "2013-07-07"))
                try await harness.police(other)
                let next = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                #expect(try object(next[0])["episodeID"] as? String == other.episodeID)
                let contacts = try await harness.admin.inspect(queue: "csc.contacts")
                #expect(contacts.messageCount == 0)

                // Operators see it: mashctl missing list (exit 1 while an interview is overdue) and the metrics.
                let listed = try await harness.mashctl(["missing", "list", "--store", harness.store, "--json"])
                #expect(listed.status == 1, "\(listed.output)")
                let listing = try #require(
                    try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any])
                #expect(listing["overdue"] as? Int == 1)
                let lines = try #require(listing["episodes"] as? [[String: Any]])
                #expect(Set(lines.compactMap { $0["episodeID"] as? String }) == [episode, other.episodeID])
                #expect(!listed.output.contains("Ben") && !listed.output.contains("Carter"))
                let table = try await harness.mashctl(["missing", "list", "--store", harness.store])
                #expect(table.output.contains("Return interviews overdue: medway 1"), "\(table.output)")
                let metrics = Exposition(
                    text: try Shell.run(
                        "curl", ["-s", "--max-time", "5", try #require(coordinator.operationsURL) + "/metrics"]))
                #expect(metrics.value("mash_missing_episodes_open", [:]) == 2)
                #expect(metrics.value("mash_return_interviews_overdue", ["authority": "medway"]) == 1)
                #expect(metrics.value("mash_return_interviews_overdue", ["authority": "la-kent"]) == 0)
                #expect(metrics.value("mash_return_interviews_in_time_ratio", [:]) == 0)
                let status = try await harness.mashctl(["status", "--json"] + (try harness.operatorOptions()))
                #expect(status.output.contains("return interview not held within 72 hours"), "\(status.output)")
                #expect(status.status != 0)

                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                try await harness.send(
                    interview(TestNames.messageID()).json, type: .returnInterview, from: "missing-coordinator",
                    routingKey: "missing")
                let unknown = try await dead.next(within: .seconds(30), "an interview for no episode")
                #expect(unknown.properties.headers["x-mash-reason"]?.string == "unknownEpisode")
                try unknown.ack()
                try await harness.send(
                    interview(other.episodeID).json, type: .returnInterview, from: "missing-coordinator",
                    routingKey: "missing")
                let early2 = try await dead.next(within: .seconds(30), "an interview before the child is found")
                #expect(early2.properties.headers["x-mash-reason"]?.string == "notReturned")
                try early2.ack()
                try await harness.send(
                    foundReport(other.episodeID).json, type: .foundReport, from: "spa", routingKey: "missing")
                let forged = try await dead.next(within: .seconds(30), "a found report from the SPA")
                #expect(forged.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try forged.ack()
                let alerts = try harness.query {
                    try Int.fetchOne(
                        $0, sql: "SELECT COUNT(*) FROM missing_episode WHERE id = ? AND alerted_at IS NOT NULL",
                        arguments: [episode])
                }
                #expect(alerts == 1)
            }
        }

        @Test(
            "a child placed by another authority: the copies and the request reach its own broker through the shovel, stopped and restarted in the middle; it is chased until its interview comes back and closes the clock"
        )
        func placedByAnotherAuthority() async throws {
            try await Harness.with("missing-placed", routing: try routing(within: "3s", chase: "2s")) { harness in
                try await harness.startInProcess()
                let authority = try await PlacingAuthority.join(harness)
                do {
                    let cara = child("Cara", born: "2010-02-02")
                    let report = missingReport(cara, authority: "la-kent")
                    try await harness.police(report)
                    _ = try await harness.take(1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                    let copy = try await authority.take(1)
                    #expect(copy[0].0.type == "mash.missing-notice/1")
                    #expect(try object(copy[0].0)["purpose"] as? String == "placing-authority")
                    #expect(copy[0].1 == report.episodeID)

                    // The shovels stop; the found report's copy and the request wait on the hub.
                    try authority.shovels("remove")
                    try await harness.police(foundReport(report.episodeID))
                    let admin = harness.admin
                    try await MASHTesting.eventually("the copy and the request waiting on the hub") {
                        try await admin.inspect(queue: "authority.la-kent.outbound").messageCount >= 2
                    }
                    try authority.shovels("add")
                    var seen: [String] = []
                    var chases: [Int] = []
                    var types: [String] = []
                    // The found copy, the request, then chases (the clock runs out at 3 s, then every 2 s).
                    for (message, _) in try await authority.take(4) {
                        seen.append(message.messageID)
                        types.append(message.type)
                        if message.type == "mash.return-interview-request/1" {
                            chases.append(try object(message)["chase"] as? Int ?? -1)
                        }
                    }
                    #expect(types.first == "mash.missing-notice/1")
                    #expect(Array(chases.prefix(3)) == [0, 1, 2])
                    #expect(Set(seen).count == seen.count)

                    try await authority.send(interview(report.episodeID, by: "Kent Return Interview Service"))
                    try await harness.eventually("the authority's interview closes the episode") {
                        try harness.episodeState(report.episodeID) == "concluded"
                    }
                    // The co-ordinator saw the found report, the clock's one alert, then the authority's interview.
                    let reviews = try await harness.take(
                        3, from: "missing-coordinator.episodes", as: "missing-coordinator")
                    #expect(
                        reviews.map(\.type) == ["mash.missing-notice/1", "mash.sla-alert/1", "mash.missing-notice/1"])
                    #expect(try object(reviews[0])["report"] as? String == "found")
                    #expect(try object(reviews[2])["report"] as? String == "interview")
                    let pending = try harness.query {
                        try Int.fetchOne(
                            $0, sql: "SELECT COUNT(*) FROM timer WHERE enquiry_id = ? AND fired_at IS NULL",
                            arguments: [report.episodeID])
                    }
                    #expect(pending == 0)
                    // The record of sharing names the authority for each copy and request.
                    let toAuthority = try harness.query {
                        try Int.fetchOne(
                            $0,
                            sql:
                                "SELECT COUNT(*) FROM record_of_sharing WHERE recipient = 'la-kent' AND enquiry_id = ?",
                            arguments: [report.episodeID])
                    }
                    #expect((toAuthority ?? 0) >= 4)
                    let verify = try await harness.mashctl(
                        ["audit", "verify", "--store", harness.store])
                    #expect(verify.status == 0, "\(verify.output)")
                } catch {
                    await authority.close()
                    throw error
                }
                await authority.close()
            }
        }

        @Test(
            "a child the open-case register says another authority placed: its copy goes there though the police did not name it; a subject access search names the authority among the recipients"
        )
        func placedByRegister() async throws {
            try await Harness.with("missing-register") { harness in
                try await harness.startInProcess()
                let dan = child("Dan", born: "2009-09-09")
                let open = OpenCaseUpdate(
                    child: dan, open: true, socialWorker: "Kent duty worker", team: "Kent CiC",
                    placingAuthority: "la-kent")
                try await harness.send(open.json, type: .openCase, from: "csc", routingKey: "open-case")
                try await harness.eventually("the open case registered") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM open_case") } == 1
                }
                let report = missingReport(dan)
                #expect(report.placingAuthority == nil)
                try await harness.police(report)
                // No shovel here: the copy waits on the hub, sealed to Kent.
                let copy = try await harness.take(1, from: "authority.la-kent.outbound", as: "la-kent")
                #expect(try object(copy[0])["purpose"] as? String == "placing-authority")
                _ = try await harness.take(1, from: "csc.contacts", as: "csc")
                #expect(
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT placing_authority FROM missing_episode")
                    } == "la-kent")
                let result = try await harness.mashctl(
                    [
                        "subject", "disclosures", "--forename", "Dan", "--surname", "Carter", "--dob", "2009-09-09",
                        "--reason", "SAR-2026-200", "--staff", "d.khan", "--keys", harness.hub.keys.path, "--json",
                    ] + (try harness.operatorOptions()))
                #expect(result.status == 0, "\(result.output)")
                let lines = try #require(
                    try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
                let recipients = Set(
                    lines.filter { $0["caseID"] as? String == report.episodeID }.compactMap { $0["to"] as? String })
                #expect(recipients == ["missing-coordinator", "csc", "la-kent"])
            }
        }

        @Test(
            "a concluded episode's period ends: its row, timers and data key go, the ledger records the purge and verifies"
        )
        func retention() async throws {
            try await Harness.with("missing-retention", routing: try routing(within: "60s")) { harness in
                let file = harness.scratch.file("retention.yaml")
                try CoordinatorBrokerTests.RetentionTests.schedule([.missingEpisodes: "3s"]).write(
                    toFile: file, atomically: true, encoding: .utf8)
                harness.retentionFile.withLock { $0 = file }
                try await harness.startInProcess()
                let report = missingReport(child("Fay", born: "2012-12-12"))
                try await harness.police(report)
                try await harness.police(foundReport(report.episodeID))
                _ = try await harness.take(2, from: "missing-coordinator.episodes", as: "missing-coordinator")
                let dataKey = try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/coordinator/data-at-rest.key")
                let keys = try harness.contentKeys(wrapping: dataKey)
                let sealed = try #require(
                    try harness.query {
                        try Data.fetchOne(
                            $0, sql: "SELECT missing_report FROM missing_episode WHERE id = ?",
                            arguments: [report.episodeID])
                    })
                let scope = "missing:\(report.episodeID)"
                let context = Array("missing_episode.missing_report:\(report.episodeID)".utf8)
                #expect(
                    try MissingReport(json: try keys.open(Array(sealed), scope: scope, context: context), source: "t")
                        == report)
                // An open episode's period has not begun: held, nothing due.
                let open = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.store, "--json",
                ])
                let line = try #require(
                    try CoordinatorBrokerTests.RetentionTests.line("missingEpisodes", of: open.output))
                #expect(line["held"] as? Int == 1 && line["dueNow"] as? Int == 0 && line["nextDue"] == nil)

                try await harness.send(
                    interview(report.episodeID).json, type: .returnInterview, from: "missing-coordinator",
                    routingKey: "missing")
                try await harness.eventually("the concluded episode purged") {
                    try harness.episodeState(report.episodeID) == nil
                }
                let after = try harness.contentKeys(wrapping: dataKey)
                #expect(try !after.hasKey(scope))
                #expect(throws: ContentShredded.self) { try after.open(Array(sealed), scope: scope, context: context) }
                let timers = try harness.query {
                    try Int.fetchOne(
                        $0, sql: "SELECT COUNT(*) FROM timer WHERE enquiry_id = ?", arguments: [report.episodeID])
                }
                #expect(timers == 0)
                let verify = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verify.status == 0, "\(verify.output)")
            }
        }

        @Test("kill -9 of the coordinator between a found report and its clock's alert: the alert still comes, once")
        func killBetweenFoundAndAlert() async throws {
            try await Harness.with("missing-kill", routing: try routing(within: "6s")) { harness in
                let process = try await harness.startProcess()
                let report = missingReport(child("Dan", born: "2014-04-04"))
                try await harness.police(report)
                try await harness.police(foundReport(report.episodeID))
                let before = try await harness.take(2, from: "missing-coordinator.episodes", as: "missing-coordinator")
                _ = process.stop(SIGKILL)
                let due = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT interview_due FROM missing_episode WHERE id = ?",
                            arguments: [report.episodeID])
                    })
                try await harness.eventually("the clock to run out while the coordinator is down") {
                    Date().timeIntervalSince1970 > due
                }
                _ = try await harness.startProcess()
                // A message relayed just before the kill may be relayed again with its message id (at least once,
                // docs/protocol.md): a receiver drops what it has had, and so does this test.
                var seen = Set(before.map(\.messageID))
                var alerts = 0
                while alerts == 0 {
                    let next = try await harness.take(
                        1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                    guard seen.insert(next[0].messageID).inserted else { continue }
                    #expect(next[0].type == "mash.sla-alert/1")
                    #expect(try Notice(json: next[0].payload, source: "test").enquiryID == report.episodeID)
                    alerts += 1
                }
                let other = missingReport(child("Eve", born: "2015-05-05"))
                try await harness.police(other)
                // No second alert, nor anything new for the episode: the next new message is Eve's review.
                while true {
                    let next = try await harness.take(
                        1, from: "missing-coordinator.episodes", as: "missing-coordinator")
                    guard seen.insert(next[0].messageID).inserted else { continue }
                    #expect(try object(next[0])["episodeID"] as? String == other.episodeID)
                    break
                }
            }
        }
    }
}
