import Foundation
import MASHCore
import Testing

@Suite("The MASH's meetings on the working calendar: huddles, MASH meetings, the Midwifery meeting")
struct MeetingTests {
    let schedule = MeetingSchedule()

    @Test("a Monday huddle holds Friday evening's and the weekend's arrivals, not what its Friday huddle held")
    func mondayHuddle() throws {
        let huddle = try #require(schedule.sitting(.spaHuddle, on: LocalDate("2026-12-07")!, calendar: mashCalendar))
        #expect(londonText(huddle.at) == "2026-12-07 09:15")
        #expect(londonText(huddle.reviewsFrom) == "2026-12-04 09:00")
        #expect(londonText(huddle.reviewsUntil) == "2026-12-07 09:00")
        let arrivals = [
            Arrival(kind: .contact, id: "friday-morning", at: london("2026-12-04 08:59")),
            Arrival(kind: .dan, id: "friday-evening", at: london("2026-12-04 18:30"), outOfHours: true),
            Arrival(kind: .missingReport, id: "saturday-night", at: london("2026-12-05 02:00"), outOfHours: true),
            Arrival(kind: .contact, id: "sunday", at: london("2026-12-06 23:00"), outOfHours: true),
            Arrival(kind: .enquiry, id: "monday-after-cutoff", at: london("2026-12-07 09:05")),
        ]
        #expect(Arrival.list(for: huddle, arrivals).map(\.id) == ["friday-evening", "saturday-night", "sunday"])
        // The MASH huddle reviews the same window, a quarter of an hour later.
        let mash = try #require(schedule.sitting(.mashHuddle, on: LocalDate("2026-12-07")!, calendar: mashCalendar))
        #expect(londonText(mash.at) == "2026-12-07 09:30" && mash.reviewsFrom == huddle.reviewsFrom)
    }

    @Test("no huddle on a bank holiday; the next one holds everything since the last working day's")
    func huddleAfterChristmas() throws {
        #expect(schedule.sitting(.spaHuddle, on: LocalDate("2026-12-28")!, calendar: mashCalendar) == nil)
        let next = schedule.nextSitting(.spaHuddle, after: london("2026-12-24 10:00"), calendar: mashCalendar)
        #expect(londonText(next.at) == "2026-12-29 09:15")
        #expect(londonText(next.reviewsFrom) == "2026-12-24 09:00")
    }

    @Test("MASH meetings at 11:30 and 15:00 on working days; a bank holiday moves the next one to the next working day")
    func mashMeetings() throws {
        let friday = schedule.nextSitting(.mash, after: london("2026-12-04 12:00"), calendar: mashCalendar)
        #expect(friday.id == "mash-2026-12-04T15:00")
        #expect(londonText(friday.reviewsFrom) == "2026-12-04 11:30")
        #expect(londonText(friday.reviewsUntil) == "2026-12-07 11:30")
        let monday = schedule.nextSitting(.mash, after: london("2026-12-04 15:01"), calendar: mashCalendar)
        #expect(monday.id == "mash-2026-12-07T11:30")
        #expect(londonText(monday.reviewsFrom) == "2026-12-04 15:00")
        let christmas = schedule.nextSitting(.mash, after: london("2026-12-24 15:30"), calendar: mashCalendar)
        #expect(christmas.id == "mash-2026-12-29T11:30")
        #expect(londonText(christmas.reviewsFrom) == "2026-12-24 15:00")
        // Its id finds it again; a meeting that is not held has none.
        #expect(schedule.sitting(id: christmas.id, calendar: mashCalendar) == christmas)
        #expect(schedule.sitting(id: "mash-2026-12-28T11:30", calendar: mashCalendar) == nil)
        #expect(schedule.sitting(id: "mash-2026-12-29T12:00", calendar: mashCalendar) == nil)
    }

    @Test("the Midwifery meeting: the month's first Tuesday, or the next working day when that is a bank holiday")
    func midwifery() throws {
        let december = schedule.nextSitting(.midwifery, after: london("2026-11-20 09:00"), calendar: mashCalendar)
        #expect(december.id == "midwifery-2026-12-01T13:00")
        #expect(londonText(december.reviewsFrom) == "2026-11-03 13:00")
        // Held on the first Monday instead, the Early May bank holiday moves it to Tuesday.
        let mondays = MeetingSchedule(midwifery: .init(week: 1, weekday: 1, time: TimeOfDay(10, 0)))
        let may = mondays.nextSitting(.midwifery, after: london("2027-04-20 09:00"), calendar: mashCalendar)
        #expect(may.id == "midwifery-2027-05-04T10:00")
        #expect(londonText(may.reviewsFrom) == "2027-04-05 10:00")
        let arrivals = [
            Arrival(kind: .dan, id: "unborn", at: london("2027-04-10 12:00"), unborn: true),
            Arrival(kind: .dan, id: "born", at: london("2027-04-10 12:00")),
            Arrival(kind: .enquiry, id: "unborn-late", at: london("2027-05-04 10:30"), unborn: true),
        ]
        #expect(Arrival.list(for: may, arrivals).map(\.id) == ["unborn"])
    }

    @Test(
        "a MASH meeting's list: enquiries with their answers in, or whose clock runs out before the next meeting; Red first; the agencies that answered are invited"
    )
    func mashList() throws {
        let sitting = try #require(
            schedule.sitting(.mash, on: LocalDate("2026-12-07")!, slot: 0, calendar: mashCalendar))
        #expect(londonText(sitting.reviewsUntil) == "2026-12-07 15:00")
        let enquiries = [
            MeetingAgenda.Enquiry(
                id: "amber-answered", rag: .amber, due: london("2026-12-08 10:00"), answersIn: true,
                answeredBy: ["police", "health"]),
            MeetingAgenda.Enquiry(
                id: "red-due", rag: .red, due: london("2026-12-07 14:00"), answersIn: false,
                answeredBy: ["education"]),
            MeetingAgenda.Enquiry(
                id: "green-later", rag: .green, due: london("2026-12-08 11:00"), answersIn: false,
                answeredBy: ["housing"]),
            MeetingAgenda.Enquiry(
                id: "amber-due", rag: .amber, due: london("2026-12-07 12:00"), answersIn: false, answeredBy: []),
        ]
        let agenda = MeetingAgenda.mash(sitting, enquiries: enquiries)
        #expect(agenda.items.map(\.enquiryID) == ["red-due", "amber-due", "amber-answered"])
        #expect(agenda.items.map(\.why) == [.dueBeforeNextMeeting, .dueBeforeNextMeeting, .answersIn])
        #expect(agenda.invited == ["education", "health", "police"])
    }

    @Test("the lists are looked at again when the next one comes within its lead, or when a due sitting starts")
    func nextAgendaCheck() {
        let lead: TimeInterval = 15 * 60
        // Monday 02:00: the SPA huddle's list is next due, at 09:00.
        #expect(
            londonText(schedule.nextAgendaCheck(after: london("2026-12-07 02:00"), lead: lead, calendar: mashCalendar))
                == "2026-12-07 09:00")
        // 09:05, the SPA huddle's list due already: look again at its start, 09:15 (then the MASH huddle's is due).
        #expect(
            londonText(schedule.nextAgendaCheck(after: london("2026-12-07 09:05"), lead: lead, calendar: mashCalendar))
                == "2026-12-07 09:15")
        // Friday 15:30, after the last meeting: next at Monday's 09:00.
        #expect(
            londonText(schedule.nextAgendaCheck(after: london("2026-12-11 15:30"), lead: lead, calendar: mashCalendar))
                == "2026-12-14 09:00")
    }
}
