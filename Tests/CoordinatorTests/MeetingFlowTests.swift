import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    @Suite("The MASH meeting against the real broker: its list, its record, the outcome to the agencies")
    struct MeetingFlowTests {
        /// The next message of `type` on `queue`, opened as `party` (other messages there are passed over: the
        /// moved clock may send deadline alerts too).
        static func next(
            _ type: DocumentType, on queue: String, as party: String, _ harness: Harness
        ) async throws -> OpenedMessage {
            for _ in 0..<20 {
                let message = try await harness.take(1, from: queue, as: party)[0]
                if message.type == type.rawValue { return message }
            }
            Issue.record("no \(type.rawValue) on \(queue) among 20 messages")
            throw CancellationError()
        }

        @Test(
            "the next MASH meeting's list reaches the Practice Manager before it with the answered enquiry and the agencies invited; its record decides the enquiry and the agencies that answered are sent the outcome; a second record, a meeting not held or not yet held, and another sender are refused"
        )
        func meeting() async throws {
            try await Harness.with("meeting") { harness in
                let agencies = try await harness.agencies(["police", "health"])
                harness.agendaLead.withLock { $0 = 15 * 60 }
                let coordinator = try await harness.startInProcess(operationsPort: 0)
                let base = try #require(coordinator.operationsURL)
                @Sendable func unrecorded() throws -> Double? {
                    try Exposition(scrape: base).value("mash_meetings_unrecorded", [:])
                }
                let enquiry = TestHub.enquiry(rag: .amber, agencies: ["police", "health"])
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")

                let calendar = try CoordinatorSettings.calendar(
                    holidaysFile: Repository.path("Config/calendar/bank-holidays.json"))
                // A sitting whose list was not already due when the coordinator started: run within the lead of a
                // sitting, the coordinator sends that one's list at once, before the enquiry was answered. Far
                // enough ahead that such a list is already counted unrecorded (four hours on) when this one is sent.
                let sitting = MeetingSchedule().nextSitting(
                    .mash, after: Date().addingTimeInterval(4.5 * 3600), calendar: calendar)
                harness.clockOffset.withLock { $0 = sitting.at.timeIntervalSinceNow - 10 * 60 }
                var agenda: [String: Any] = [:]
                while agenda["meetingID"] as? String != sitting.id {
                    let list = try await Self.next(
                        .meetingAgenda, on: "practice-manager.alerts", as: "practice-manager", harness)
                    agenda = try #require(try JSONSerialization.jsonObject(with: Data(list.payload)) as? [String: Any])
                }
                #expect(agenda["meetingID"] as? String == sitting.id)
                let items = try #require(agenda["items"] as? [[String: Any]])
                let item = try #require(items.first { $0["enquiryID"] as? String == enquiry.id })
                #expect(item["why"] as? String == "answers-in" && item["reference"] as? String == enquiry.reference)
                #expect(agenda["invited"] as? [String] == ["health", "police"])
                // Its list went; with no record four hours after it started, it is counted as unrecorded.
                let before = try #require(try unrecorded())
                harness.clockOffset.withLock { $0 = sitting.at.timeIntervalSinceNow + 4 * 3600 + 60 }
                #expect(try unrecorded() == before + 1)

                // The record comes once the meeting is held: the agencies' clocks are real again, so the record is
                // of the last meeting before now (a meeting not yet held is refused).
                harness.clockOffset.withLock { $0 = 0 }
                let held = MeetingSchedule().lastSitting(.mash, atOrBefore: Date(), calendar: calendar)
                let record = MeetingRecord(
                    meetingID: held.id, heldAt: held.at, recordedBy: "pm.adeyemi",
                    attendees: [
                        .init(staffID: "pm.adeyemi", name: "Practice Manager", agency: "csc"),
                        .init(staffID: "ds.hughes", name: "DS Hughes", agency: "police"),
                        .init(staffID: "hv.shah", name: "Health visitor", agency: "health"),
                    ],
                    items: [
                        .init(
                            enquiryID: enquiry.id, agreed: .earlyHelp,
                            note: "Agreed with police and health: Early Help with the school.")
                    ])
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                try await harness.send(record.json, type: .meetingRecord, from: "spa", routingKey: "meeting")
                let forged = try await dead.next(within: .seconds(30), "a meeting record from the SPA")
                #expect(forged.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try forged.ack()
                var unheld = record
                unheld.meetingID = "mash-2026-12-06T11:30"
                try await harness.send(
                    unheld.json, type: .meetingRecord, from: "practice-manager", routingKey: "meeting")
                let sunday = try await dead.next(within: .seconds(30), "a record of a meeting never held")
                #expect(sunday.properties.headers["x-mash-reason"]?.string == "unknownMeeting")
                try sunday.ack()
                var early = record
                early.meetingID = sitting.id
                try await harness.send(
                    early.json, type: .meetingRecord, from: "practice-manager", routingKey: "meeting")
                let notYet = try await dead.next(within: .seconds(30), "a record of a meeting still to come")
                #expect(notYet.properties.headers["x-mash-reason"]?.string == "notYetHeld")
                try notYet.ack()

                try await harness.send(
                    record.json, type: .meetingRecord, from: "practice-manager", routingKey: "meeting")
                try await harness.eventually("the police and health told the outcome") {
                    ["police", "health"].allSatisfy { id in
                        agencies[id]!.received.value.outcomes.contains {
                            $0.enquiryID == enquiry.id && $0.outcome == .earlyHelp
                        }
                    }
                }
                #expect(
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT decision_outcome FROM enquiry WHERE id = ?", arguments: [enquiry.id])
                    } == "early-help")
                try await harness.send(
                    record.json, type: .meetingRecord, from: "practice-manager", routingKey: "meeting")
                let twice = try await dead.next(within: .seconds(30), "a second record of the meeting")
                #expect(twice.properties.headers["x-mash-reason"]?.string == "alreadyRecorded")
                try twice.ack()
                let recorded = try await harness.mashctl([
                    "meeting", "recorded", "--store", harness.store, "--json",
                ])
                let lines = try #require(
                    try JSONSerialization.jsonObject(with: Data(recorded.output.utf8)) as? [[String: Any]])
                #expect(lines.count == 1 && lines[0]["meetingID"] as? String == held.id)
                #expect(
                    lines[0]["agencies"] as? [String] == ["csc", "health", "police"] && lines[0]["items"] as? Int == 1)
            }
        }

        @Test(
            "the Midwifery meeting's list holds the enquiry about an unborn child and not the other opened with it"
        )
        func midwifery() async throws {
            try await Harness.with("meeting-midwifery") { harness in
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                var pregnancy = TestHub.enquiry(rag: .amber, agencies: ["police"])
                pregnancy.unbornWeeks = 20
                let other = TestHub.enquiry(rag: .amber, agencies: ["police"])
                for enquiry in [pregnancy, other] { try await harness.send(enquiry.json, type: .enquiry) }
                try await harness.eventually("both enquiries opened") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT count(*) FROM enquiry") } == 2
                }
                let show = try await harness.mashctl([
                    "meeting", "show", "--kind", "midwifery", "--store", harness.store, "--json",
                ])
                #expect(show.status == 0, "\(show.output)")
                let list = try #require(
                    try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
                let ids = (list["arrivals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                #expect(ids == [pregnancy.id])
                let huddle = try await harness.mashctl([
                    "meeting", "show", "--kind", "mash-huddle", "--store", harness.store, "--json",
                ])
                let reviewed = try #require(
                    try JSONSerialization.jsonObject(with: Data(huddle.output.utf8)) as? [String: Any])
                let all = Set((reviewed["arrivals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
                #expect(all == [pregnancy.id, other.id])
            }
        }
    }
}
