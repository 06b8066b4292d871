import ArgumentParser
import Foundation
import MASHConfig
import MASHCore
import MASHReadModel

extension MeetingSchedule.Kind: ExpressibleByArgument {}

/// The hub's local time for a table cell.
private func ukTime(_ date: Date?) -> String {
    guard let date else { return "-" }
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "Europe/London")
    formatter.dateFormat = "EEE yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
}

/// `mashctl meeting`: the MASH's meetings, their lists from the hub's own state, and what they recorded.
struct MeetingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting",
        abstract: "The MASH's huddles and meetings: the next one's list, sending it now, and the meetings recorded.",
        subcommands: [Show.self, Send.self, Recorded.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the next sitting's list to the Practice Manager's desk now.",
            discussion: """
                The hub sends each sitting's list by itself (routing.yaml `meetings.agendaBefore` before it \
                starts); this sends it again now, as the hub sees things now, after late arrivals say. Signed by \
                your own key: you need the practice-manager or operator role in Config/staff.yaml.

                Example:
                  mashctl meeting send --kind mash --staff a.ahmed
                """)

        @Option(help: "spa-huddle, mash-huddle, mash or midwifery.")
        var kind: MeetingSchedule.Kind = .mash

        @Flag(help: "The last sitting that has started, not the next: to record a meeting after it was held.")
        var last = false

        @OptionGroup var staff: StaffOptions
        @OptionGroup var hub: HubOptions

        func run() async throws {
            let now = Date()
            var meetingID: String?
            if last {
                // The meetings' times from the hub's routing file, on its calendar (--routing, --holidays).
                let calendar = try MeetingCommand.calendar(hub.holidays)
                let schedule = try RoutingConfiguration.load(file: hub.routing).meetings.schedule
                meetingID = schedule.lastSitting(kind, atOrBefore: now, calendar: calendar).id
            }
            let request = MeetingListRequest(
                requestedBy: try staff.id(), kind: kind, meetingID: meetingID, at: now,
                expiresAt: now.addingTimeInterval(StaffOptions.recordWindow))
            let action = try await staff.request(
                request.json, type: .meetingListRequest, what: "request for the meeting's list", hub: hub)
            print("\(action.summary) (recorded as \(action.messageID)).")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The list of the next sitting of a meeting, from the hub's own state.",
            discussion: """
                spa-huddle and mash-huddle (09:15 and 09:30 on working days): everything that arrived since the \
                cut-off on the working day before (09:00), overnight, weekends and bank holidays included — \
                contacts, enquiries, DANs, missing and found reports. mash (11:30 and 15:00): the open enquiries \
                whose answers are all in or whose clock runs out before the next meeting, Red first, with the \
                agencies that answered (they are the ones invited). midwifery (the first Tuesday of the month): the \
                DANs and enquiries with an unborn child since the last one. A meeting that falls on a bank holiday moves to the \
                next working day. Times are routing.yaml's `meetings`. Ids and codes only: the desks show names.

                Examples:
                  mashctl meeting show --kind mash
                  mashctl meeting show --kind spa-huddle --at 2026-12-07T09:00 --json
                """)

        @Option(help: "spa-huddle, mash-huddle, mash or midwifery.")
        var kind: MeetingSchedule.Kind = .mash

        @Option(
            help:
                "The first sitting at or after this UK local time (2026-12-07T11:00) or ISO 8601 instant; default now.")
        var at: String?

        @Option(help: "Routing rules: the meetings' times and cut-offs.")
        var routing: String = "Config/routing.yaml"

        @Option(help: "GOV.UK's bank holidays file the coordinator uses.")
        var holidays: String = "Config/calendar/bank-holidays.json"

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let calendar = try MeetingCommand.calendar(holidays)
            let schedule = try RoutingConfiguration.load(file: routing).meetings.schedule
            var from = Date()
            if let at {
                guard let instant = CalendarCommand.Deadline.parse(at, in: calendar) else {
                    throw ValidationError("--at '\(at)' is not a time (2026-12-07T11:00 or 2026-12-07T11:00:00Z)")
                }
                from = instant
            }
            let sitting = schedule.nextSitting(kind, after: from, calendar: calendar)
            let model = try storeOption.open()
            if kind == .mash {
                let agenda = MeetingAgenda.mash(sitting, enquiries: try model.agendaEnquiries())
                if json {
                    struct Item: Encodable {
                        var enquiryID: String
                        var rag: String
                        var due: Date
                        var why: String
                        var invited: [String]
                    }
                    struct Report: Encodable {
                        var meetingID: String
                        var at: Date
                        var nextMeeting: Date
                        var invited: [String]
                        var items: [Item]
                    }
                    let report = Report(
                        meetingID: sitting.id, at: sitting.at, nextMeeting: sitting.reviewsUntil,
                        invited: agenda.invited,
                        items: agenda.items.map {
                            Item(
                                enquiryID: $0.enquiryID, rag: $0.rag.rawValue, due: $0.due, why: $0.why.rawValue,
                                invited: $0.invited)
                        })
                    FileHandle.standardOutput.write(Data(try JSONOutput.encode(report)))
                    return
                }
                print(
                    "\(sitting.id): the MASH meeting, \(ukTime(sitting.at)); the next is \(ukTime(sitting.reviewsUntil))"
                )
                guard !agenda.items.isEmpty else { return print("Nothing on the list.") }
                var lines = [
                    Format.row([("ENQUIRY", -36), ("RAG", -6), ("DUE", -21), ("WHY", -24), ("INVITED", -40)])
                ]
                for item in agenda.items {
                    lines.append(
                        Format.row([
                            (item.enquiryID, -36), (item.rag.rawValue, -6), (ukTime(item.due), -21),
                            (item.why == .answersIn ? "answers in" : "due before the next", -24),
                            (item.invited.joined(separator: ", "), -40),
                        ]))
                }
                lines.append(
                    "Invited: \(agenda.invited.isEmpty ? "no agency yet" : agenda.invited.joined(separator: ", ")).")
                print(lines.joined(separator: "\n"))
                return
            }
            let arrivals = Arrival.list(
                for: sitting,
                try model.arrivals(from: sitting.reviewsFrom, until: sitting.reviewsUntil, calendar: calendar))
            if json {
                struct Line: Encodable {
                    var kind: String
                    var id: String
                    var at: Date
                    var outOfHours: Bool
                }
                struct Report: Encodable {
                    var meetingID: String
                    var at: Date
                    var reviewsFrom: Date
                    var reviewsUntil: Date
                    var arrivals: [Line]
                }
                let report = Report(
                    meetingID: sitting.id, at: sitting.at, reviewsFrom: sitting.reviewsFrom,
                    reviewsUntil: sitting.reviewsUntil,
                    arrivals: arrivals.map {
                        Line(kind: $0.kind.rawValue, id: $0.id, at: $0.at, outOfHours: $0.outOfHours)
                    })
                FileHandle.standardOutput.write(Data(try JSONOutput.encode(report)))
                return
            }
            print(
                "\(sitting.id), \(ukTime(sitting.at)): what arrived from \(ukTime(sitting.reviewsFrom)) to \(ukTime(sitting.reviewsUntil))"
            )
            guard !arrivals.isEmpty else { return print("Nothing arrived.") }
            var lines = [Format.row([("KIND", -15), ("ID", -38), ("ARRIVED", -21), ("", -40)])]
            for arrival in arrivals {
                lines.append(
                    Format.row([
                        (arrival.kind.rawValue, -15), (arrival.id, -38), (ukTime(arrival.at), -21),
                        (arrival.outOfHours ? "out of hours" : "", -40),
                    ]))
            }
            print(lines.joined(separator: "\n"))
        }
    }

    struct Recorded: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The meetings recorded in the last --days days: who attended, how many items were agreed.",
            discussion: """
                Example:
                  mashctl meeting recorded --days 7 --json
                """)

        @Option(help: "How many days back.")
        var days: Int = 7

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let meetings = try storeOption.open().meetings(since: Date().addingTimeInterval(-Double(days) * 86400))
            if json { return FileHandle.standardOutput.write(Data(try JSONOutput.encode(meetings))) }
            guard !meetings.isEmpty else { return print("No meetings recorded.") }
            var lines = [Format.row([("MEETING", -30), ("HELD", -21), ("ITEMS", 6), ("  AGENCIES", -40)])]
            for meeting in meetings {
                lines.append(
                    Format.row([
                        (meeting.meetingID, -30), (ukTime(meeting.heldAt), -21), ("\(meeting.items)", 6),
                        ("  " + meeting.agencies.joined(separator: ", "), -40),
                    ]))
            }
            print(lines.joined(separator: "\n"))
        }
    }

    static func calendar(_ holidays: String) throws -> WorkingCalendar {
        guard let data = FileManager.default.contents(atPath: holidays) else {
            throw CommandFailure("\(holidays): cannot read the bank holidays file (give its path with --holidays)")
        }
        return WorkingCalendar.mash(holidays: try BankHolidays.englandAndWales(fromGOVUK: data, source: holidays))
    }
}

/// `mashctl challenges`: challenges to MASH decisions and where each stands.
struct ChallengesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "challenges",
        abstract: "Challenges to MASH decisions: each one's stage and its clock.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List challenges not resolved, and those resolved in the last --days days.",
            discussion: """
                Each challenge by id, the enquiry it challenges, the party that raised it, its stage (raised, \
                discussed-at-mash, with-area-manager, with-senior-staff, at-operation-group, resolved) and when \
                that stage's time runs out (routing.yaml `challenges.stageDays`, in working days). No grounds: \
                the Area Manager's desk shows them.

                Exit status: 0 when no stage is past its time, 1 otherwise.

                Example:
                  mashctl challenges list --json
                """)

        @Option(help: "Also list challenges resolved in this many days.")
        var days: Int = 30

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let now = Date()
            let challenges = try storeOption.open().challenges(
                resolvedSince: now.addingTimeInterval(-Double(days) * 86400))
            let overdue = challenges.filter { $0.overdue(at: now) }.count
            if json {
                struct Report: Encodable {
                    var challenges: [HubReadModel.ChallengeLine]
                    var overdue: Int
                }
                FileHandle.standardOutput.write(
                    Data(try JSONOutput.encode(Report(challenges: challenges, overdue: overdue))))
            } else if challenges.isEmpty {
                print("No challenges.")
            } else {
                var lines = [
                    Format.row([
                        ("CHALLENGE", -36), ("ENQUIRY", -36), ("RAISED BY", -14), ("STAGE", -20), ("STAGE DUE", -40),
                    ])
                ]
                for challenge in challenges {
                    let due =
                        challenge.resolvedAt.map { "resolved " + ukTime($0) }
                        ?? ((challenge.overdue(at: now) ? "LATE " : "") + ukTime(challenge.stageDue))
                    lines.append(
                        Format.row([
                            (challenge.challengeID, -36), (challenge.enquiryID, -36), (challenge.raisedBy, -14),
                            (challenge.stage, -20), (due, -40),
                        ]))
                }
                lines.append("Past their stage's time: \(overdue).")
                print(lines.joined(separator: "\n"))
            }
            if overdue > 0 { throw ExitCode(1) }
        }
    }
}
