import Foundation
import MASHCore
import MASHTesting
import Testing

/// The MASH calendar with GOV.UK's England and Wales bank holidays, as Config/calendar holds them.
let mashCalendar: WorkingCalendar = {
    let path = Repository.path("Config/calendar/bank-holidays.json")
    let data = FileManager.default.contents(atPath: path)!
    return WorkingCalendar.mash(holidays: try! BankHolidays.englandAndWales(fromGOVUK: data, source: path))
}()

/// "2026-12-24 16:00" in Europe/London.
func london(_ text: String) -> Date {
    let parts = text.split(separator: " ")
    let time = parts[1].split(separator: ":").map { Int($0)! }
    return mashCalendar.instant(LocalDate(String(parts[0]))!, TimeOfDay(time[0], time[1]))
}

extension LocalDate {
    /// The day `days` after this one, by Foundation's Calendar (what the calendar's own arithmetic is checked
    /// against).
    func adding(days: Int) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let start = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: 12))!
        let c = calendar.dateComponents(
            [.year, .month, .day], from: calendar.date(byAdding: .day, value: days, to: start)!)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }
}

func londonText(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_GB")
    formatter.timeZone = TimeZone(identifier: "Europe/London")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
}

@Suite("Working calendar (Mon–Thu 09:00–17:15, Fri 09:00–16:45, England and Wales bank holidays)")
struct WorkingCalendarTests {
    @Test("Thu 24 Dec 2026 → next working day Tue 29 Dec (Christmas Day, Boxing Day substitute)")
    func christmas() {
        #expect(mashCalendar.nextWorkingDay(after: LocalDate("2026-12-24")!) == LocalDate("2026-12-29")!)
    }

    @Test("Thu 2 Apr 2026 → next working day Tue 7 Apr (Good Friday, Easter Monday)")
    func easter() {
        #expect(mashCalendar.nextWorkingDay(after: LocalDate("2026-04-02")!) == LocalDate("2026-04-07")!)
    }

    @Test("Friday closes at 16:45, Monday to Thursday at 17:15; weekends closed")
    func closingTimes() {
        #expect(mashCalendar.isOpen(at: london("2026-11-20 16:44")))
        #expect(!mashCalendar.isOpen(at: london("2026-11-20 16:45")))
        #expect(mashCalendar.isOpen(at: london("2026-11-19 17:14")))
        #expect(!mashCalendar.isOpen(at: london("2026-11-19 17:15")))
        #expect(!mashCalendar.isOpen(at: london("2026-11-21 12:00")))
        #expect(!mashCalendar.isOpen(at: london("2026-11-19 08:59")))
    }

    @Test("a Red enquiry opened at 16:00 on a Friday: partners due Monday 12:15, warned Monday 11:15")
    func redFridayAfternoon() {
        let d = SLAPolicy.mashDefault.deadlines(for: .red, openedAt: london("2026-11-20 16:00"), calendar: mashCalendar)
        #expect(londonText(d.countedFrom) == "2026-11-20 16:00")
        #expect(londonText(d.partnersDue) == "2026-11-23 12:15")
        #expect(londonText(d.partnersWarning) == "2026-11-23 11:15")
    }

    @Test("a Red enquiry opened at 16:00 on the Thursday before Easter is due Tuesday 11:45")
    func redBeforeEaster() {
        let d = SLAPolicy.mashDefault.deadlines(for: .red, openedAt: london("2026-04-02 16:00"), calendar: mashCalendar)
        #expect(londonText(d.partnersDue) == "2026-04-07 11:45")
    }

    @Test("Amber opened on Christmas Eve morning is due the same time on Tue 29 Dec")
    func amberChristmasEve() {
        let d = SLAPolicy.mashDefault.deadlines(
            for: .amber, openedAt: london("2026-12-24 10:30"), calendar: mashCalendar)
        #expect(londonText(d.decisionDue) == "2026-12-29 10:30")
        #expect(londonText(d.partnersDue) == "2026-12-29 10:30")
    }

    @Test("'same time next working day' is capped at that day's closing: Thursday 17:00 → Friday 16:45")
    func cappedAtFridayClose() {
        let d = SLAPolicy.mashDefault.deadlines(
            for: .green, openedAt: london("2026-11-19 17:00"), calendar: mashCalendar)
        #expect(londonText(d.decisionDue) == "2026-11-20 16:45")
    }

    @Test("a contact received out of hours counts from the next opening")
    func outOfHours() {
        let saturday = SLAPolicy.mashDefault.deadlines(
            for: .amber, openedAt: london("2026-11-21 10:00"), calendar: mashCalendar)
        #expect(londonText(saturday.countedFrom) == "2026-11-23 09:00")
        #expect(londonText(saturday.decisionDue) == "2026-11-24 09:00")
        let lateFriday = SLAPolicy.mashDefault.deadlines(
            for: .red, openedAt: london("2026-11-20 22:30"), calendar: mashCalendar)
        #expect(londonText(lateFriday.partnersDue) == "2026-11-23 13:00")
    }

    @Test("deadlines across the change to British Summer Time stay in local working hours")
    func summerTime() {
        // Clocks go forward on Sunday 29 March 2026.
        let d = SLAPolicy.mashDefault.deadlines(for: .red, openedAt: london("2026-03-27 16:00"), calendar: mashCalendar)
        #expect(londonText(d.partnersDue) == "2026-03-30 12:15")
        let utc = ISO8601DateFormatter().string(from: d.partnersDue)
        #expect(utc == "2026-03-30T11:15:00Z")
    }

    @Test("a wall-clock policy runs through nights and weekends")
    func wallClock() {
        let policy = SLAPolicy(
            partners: [.red: .wallClock(4 * 3600), .amber: .wallClock(86400), .green: .wallClock(86400)],
            decision: [.red: .wallClock(4 * 3600), .amber: .wallClock(86400), .green: .wallClock(86400)])
        let d = policy.deadlines(for: .red, openedAt: london("2026-11-20 16:00"), calendar: mashCalendar)
        #expect(londonText(d.partnersDue) == "2026-11-20 20:00")
        #expect(londonText(d.partnersWarning) == "2026-11-20 19:00")
    }

    @Test("adding working time and measuring it back agree, for starts across a fortnight with a holiday")
    func addingAndMeasuringAgree() {
        var start = london("2026-12-17 08:00")
        for _ in 0..<(14 * 24 * 2) {
            for hours in [0.5, 4.0, 7.5, 20.0] {
                let due = mashCalendar.adding(workingTime: hours * 3600, to: start)
                #expect(abs(mashCalendar.workingTime(from: start, to: due) - hours * 3600) < 0.001)
                #expect(mashCalendar.isOpen(at: due.addingTimeInterval(-1)))
            }
            start = start.addingTimeInterval(1800)
        }
    }

    @Test(
        "local days, weekdays and instants by day arithmetic agree with Foundation's Calendar in Europe/London, for every quarter hour of 2026 and the nights the clocks change"
    )
    func arithmeticAgreesWithFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/London")!
        let days = (0..<365).map { LocalDate(year: 2026, month: 1, day: 1).adding(days: $0) }
        for date in days {
            let noon = calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day, hour: 12))!
            let weekday = calendar.component(.weekday, from: noon)
            #expect(mashCalendar.weekday(of: date) == (weekday == 1 ? 7 : weekday - 1), "\(date)")
            #expect(mashCalendar.day(after: date) == date.adding(days: 1), "\(date)")
            for quarter in 0..<96 {
                let time = TimeOfDay(quarter / 4, quarter % 4 * 15)
                let expected = calendar.date(
                    from: DateComponents(
                        year: date.year, month: date.month, day: date.day, hour: time.hour, minute: time.minute))!
                #expect(mashCalendar.instant(date, time) == expected, "\(date) \(time)")
                let c = calendar.dateComponents([.year, .month, .day], from: expected)
                #expect(mashCalendar.localDate(of: expected) == LocalDate(year: c.year!, month: c.month!, day: c.day!))
            }
        }
    }

    @Test("a malformed bank holiday file names the entry at fault")
    func badHolidayFile() {
        let bad = Data(#"{"england-and-wales": {"events": [{"date": "2026-12-25"}, {"date": "25/12/2026"}]}}"#.utf8)
        #expect {
            try BankHolidays.englandAndWales(fromGOVUK: bad, source: "holidays.json")
        } throws: { error in
            "\(error)".contains("holidays.json: england-and-wales.events[1].date")
        }
    }
}
