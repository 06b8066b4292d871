import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Testing

extension CoordinatorBrokerTests {
    /// What fails to arrive, and why a party refused what did (#20).
    @Suite("Watchdogs: roll feeds past their cadence, parties never heard, refusal reports")
    struct WatchdogTests {
        @Test("a school's weekly roll feed stopped past its cadence is a status finding and mash_roll_feed_overdue")
        func rollFeedOverdue() async throws {
            try await Harness.with("watchdog-rolls") { harness in
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let base = try #require(coordinator.operationsURL)
                let header =
                    "UPN,Surname,Forename,DOB,EntryDate,Gender,YearGroup,LeavingDate,LeavingReason,Destination\n"
                try await harness.send(
                    SchoolRollFile(
                        urn: "990001", format: .csv, qualifier: .full,
                        content: header + "P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,\n"
                    ).json, type: .schoolRoll, from: "orchestra", routingKey: "roll")
                try await harness.eventually("the feed accepted") {
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT status FROM roll_import WHERE urn = '990001'")
                    } == "accepted"
                }
                // Whole seconds, as --at takes them.
                let fedAt = Date(
                    timeIntervalSince1970: (try harness.query {
                        try Double.fetchOne($0, sql: "SELECT received_at FROM roll_import WHERE urn = '990001'")
                    } ?? 0).rounded(.up))
                let fresh = try Exposition(scrape: base)
                #expect(fresh.value("mash_roll_feed_overdue", ["urn": "990001"]) == 0)
                #expect(fresh.value("mash_roll_feed_never_received", ["urn": "990001"]) == 0)
                #expect(fresh.value("mash_roll_feed_never_received", ["urn": "990002"]) == 1)
                #expect(fresh.value("mash_roll_feed_every_seconds", ["urn": "990001"]) == 7.0 * 86_400)

                // Six days on the feed is still within its week; eight days on it is overdue.
                let options = try harness.operatorOptions()
                func status(daysOn days: Double) async throws -> String {
                    let at = Instant.format(fedAt.addingTimeInterval(days * 86_400))
                    return try await harness.mashctl(["status", "--at", at] + options).output
                }
                let sixDays = try await status(daysOn: 6)
                #expect(!sixDays.contains("school 990001 roll feed"), "\(sixDays)")
                #expect(sixDays.contains("No roll feed accepted yet from school 990002."), "\(sixDays)")
                let eightDays = try await status(daysOn: 8).replacingOccurrences(
                    of: #"\s+"#, with: " ", options: .regularExpression)
                #expect(
                    eightDays.contains(
                        "WARNING school 990001 roll feed: overdue: the last accepted feed was 8d00h ago, expected "
                            + "every 7 days"), "\(eightDays)")

                harness.clockOffset.withLock { $0 = 8 * 86_400 }
                let late = try Exposition(scrape: base)
                #expect(late.value("mash_roll_feed_overdue", ["urn": "990001"]) == 1)
                #expect((late.value("mash_roll_feed_age_seconds", ["urn": "990001"]) ?? 0) >= 8 * 86_400)
            }
        }

        @Test("a forged request the police adapter refuses shows its reason in dlq list; repeated ids by position")
        func refusalReports() async throws {
            try await Harness.with("watchdog-refusals") { harness in
                try await harness.startInProcess()
                try await harness.startAdapter(try harness.shippedConfig("police"), agency: "police")
                // Signed by the SPA, whose key the police adapter does not trust (it trusts the hub's alone);
                // published twice with one message id.
                let forged = try harness.hub.sealed(
                    harness.researchRequest(to: "police").json, type: .researchRequest, from: "spa", to: "police")
                let id = try #require(forged.properties.messageID)
                for _ in 0..<2 {
                    try await harness.admin.publish(forged, exchange: "mash.enquiries", routingKey: "police")
                }
                try await harness.eventually("the police adapter's refusal report recorded") {
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT reason FROM refusal WHERE party = 'police' AND message_id = ?",
                            arguments: [id])
                    } == "unknownKey"
                }
                let queue = ["--queue", "agency.police.enquiries"]
                let options = try harness.operatorOptions()
                let listed = try await harness.mashctl(
                    ["dlq", "list", "--json"] + queue + options, until: "both dead letters listed"
                ) { $0.output.contains(#/"position"\s*:\s*2/#) }
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [String: Any])
                let letters = try #require(report["messages"] as? [[String: Any]])
                #expect(letters.count == 2)
                for letter in letters {
                    #expect(letter["messageID"] as? String == id)
                    #expect(letter["reason"] as? String == "unknownKey")
                    #expect(letter["reasonFrom"] as? String == "refusal report")
                    #expect(letter["rejectedBy"] as? String == "police")
                    #expect((letter["detail"] as? String)?.contains("which is not trusted") == true)
                }
                let table = try await harness.mashctl(["dlq", "list"] + queue + options)
                #expect(table.output.contains("unknownKey"), "\(table.output)")
                #expect(table.output.contains("select those with --position"))
                #expect(!table.output.contains("Testperson"))

                // The id is ambiguous: show names the positions; --position picks one.
                let staff = ["--reason", "INC-2001", "--staff", "j.smith", "--keys", harness.hub.keys.path]
                let ambiguous = try await harness.mashctl(["dlq", "show", "--message", id] + queue + staff + options)
                #expect(ambiguous.status != 0)
                #expect(
                    ambiguous.output.contains("at positions 1, 2: select one with --position"), "\(ambiguous.output)")
                let second = try await harness.mashctl(["dlq", "show", "--position", "2"] + queue + staff + options)
                #expect(second.status == 0, "\(second.output)")
                #expect(second.output.contains("\"position\" : 2") || second.output.contains("\"position\":2"))
                #expect(second.output.contains("unknownKey"))

                // Replaying position 1 alone: one message goes back, is refused again, and two wait as before.
                let replay = try await harness.mashctl(
                    ["dlq", "replay", "--position", "1"] + queue + ["--reason", "INC-2001", "--staff", "j.smith"]
                        + ["--keys", harness.hub.keys.path] + options)
                #expect(replay.status == 0, "\(replay.output)")
                #expect(replay.output.contains("replayed 1 message to agency.police.enquiries"), "\(replay.output)")
                try await eventually("the replayed message refused again") {
                    try await harness.admin.inspect(queue: "agency.police.enquiries.dlq").messageCount == 2
                }

                let status = try await harness.mashctl(["status"] + options)
                #expect(
                    status.output.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression).contains(
                        "WARNING police: refused 1 message in the last 24 h: unknownKey"), "\(status.output)")
            }
        }
    }
}

extension CoordinatorBrokerTests.WatchdogTests {
    @Test("a desk sends heartbeats and reports what it refuses; an expected desk never started is never heard")
    func deskHeartbeatsAndRefusals() async throws {
        try await Harness.with("watchdog-desks") { harness in
            // The hub expects two desks; only the decision maker's is started.
            let desks = harness.scratch.file("desks-expected")
            try FileManager.default.createDirectory(atPath: desks, withIntermediateDirectories: true)
            for party in ["decision-maker", "spa"] {
                try "party: \(party)\n".write(toFile: "\(desks)/\(party).yaml", atomically: true, encoding: .utf8)
            }
            harness.desksDirectory.withLock { $0 = desks }
            let coordinator = try await harness.startInProcess(operationsPort: 0)
            let base = try #require(coordinator.operationsURL)
            try await harness.startDesk(
                "decision-maker", queue: "decision-maker.packages", shows: ["mash.decision-package/1"],
                extra: "heartbeat: 1s")
            try await harness.eventually("the desk's heartbeat") {
                try harness.query {
                    try Double.fetchOne(
                        $0, sql: "SELECT heartbeat_interval FROM adapter WHERE agency = 'decision-maker'")
                } == 1
            }
            let metrics = try Exposition(scrape: base)
            #expect(metrics.value("mash_party_never_heard", ["party": "decision-maker", "kind": "desk"]) == 0)
            #expect(metrics.value("mash_party_never_heard", ["party": "spa", "kind": "desk"]) == 1)
            #expect(metrics.value("mash_adapter_heartbeat_interval_seconds", ["agency": "decision-maker"]) == 1)

            // A notice of a type the desk does not show: refused, reported, and dlq list says why.
            let notice = try harness.hub.sealed(
                Array(#"{"schema":"mash.sla-alert/1"}"#.utf8), type: .slaAlert, from: "coordinator",
                to: "decision-maker")
            try await harness.admin.publish(notice, exchange: "", routingKey: "decision-maker.packages")
            try await harness.eventually("the desk's refusal report") {
                try harness.query {
                    try String.fetchOne(
                        $0, sql: "SELECT reason FROM refusal WHERE party = 'decision-maker' AND message_id = ?",
                        arguments: [notice.properties.messageID])
                } == "unexpectedType"
            }
            let options = try harness.operatorOptions()
            let listed = try await harness.mashctl(
                ["dlq", "list", "--queue", "decision-maker.packages"] + options, until: "the desk's reason listed"
            ) { $0.output.contains("unexpectedType") }
            #expect(listed.output.contains("unexpectedType"), "\(listed.output)")

            let status = try await harness.mashctl(["status"] + options)
            let flat = status.output.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
            #expect(flat.contains("WARNING desk spa: never heard from"), "\(status.output)")
            #expect(!flat.contains("desk decision-maker: never heard"))
            #expect(flat.contains("WARNING decision-maker: refused 1 message in the last 24 h: unexpectedType"))
        }
    }
}

/// A Prometheus text exposition, read as a scraper would.
struct Exposition {
    var text: String

    init(text: String) { self.text = text }

    init(scrape base: String) throws {
        text = try Shell.run("curl", ["-s", "--max-time", "5", base + "/metrics"])
    }

    /// The value of the sample of `name` whose labels include `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String]) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            let matches = labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
            if matches, let number = line.split(separator: " ").last.flatMap({ Double($0) }) { return number }
        }
        return nil
    }

    /// The metric names in the exposition.
    var names: Set<String> {
        Set(
            text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap {
                $0.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init)
            })
    }
}
