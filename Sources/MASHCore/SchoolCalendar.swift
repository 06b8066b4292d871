import Foundation

/// One school's own calendar (Operation Encompass): its terms, its INSET days and the time its day starts. A
/// school day is a weekday inside a term that is neither an INSET day nor a bank holiday.
public struct SchoolCalendar: Sendable {
    public struct Term: Sendable, Equatable {
        public var first: LocalDate
        public var last: LocalDate

        public init(first: LocalDate, last: LocalDate) {
            self.first = first
            self.last = last
        }
    }

    public var terms: [Term]
    public var insetDays: Set<LocalDate>
    public var dayStarts: TimeOfDay
    /// Weekday arithmetic and the hub's time zone, with bank holidays as closed days.
    let days: WorkingCalendar

    public init(terms: [Term], insetDays: Set<LocalDate>, dayStarts: TimeOfDay, bankHolidays: Set<LocalDate>) {
        self.terms = terms.sorted { $0.first < $1.first }
        self.insetDays = insetDays
        self.dayStarts = dayStarts
        let weekday = WorkingCalendar.Hours(opens: dayStarts, closes: TimeOfDay(23, 59))
        days = WorkingCalendar(
            timeZone: TimeZone(identifier: "Europe/London")!,
            hours: [1: weekday, 2: weekday, 3: weekday, 4: weekday, 5: weekday], holidays: bankHolidays)
    }

    public func isSchoolDay(_ date: LocalDate) -> Bool {
        days.isWorkingDay(date) && !insetDays.contains(date)
            && terms.contains { $0.first <= date && date <= $0.last }
    }

    /// The start of the first school day that starts after `instant`; nil when the configured terms end first
    /// (the school's calendar needs next year's dates).
    public func nextDayStart(after instant: Date) -> Date? {
        guard let lastDay = terms.last?.last else { return nil }
        var day = days.localDate(of: instant)
        while day <= lastDay {
            if isSchoolDay(day) {
                let start = days.instant(day, dayStarts)
                if start > instant { return start }
            }
            day = days.day(after: day)
        }
        return nil
    }

    /// The first school day of the school year that `date` falls in (the first term starting in August or
    /// September of that year); standard starters join on it.
    public func firstDayOfYear(containing date: LocalDate) -> LocalDate? {
        let startYear = date.month >= 8 ? date.year : date.year - 1
        guard let term = terms.first(where: { $0.first.year == startYear && $0.first.month >= 8 }) else { return nil }
        var day = term.first
        while day <= term.last {
            if isSchoolDay(day) { return day }
            day = days.day(after: day)
        }
        return nil
    }

    public func localDate(of instant: Date) -> LocalDate { days.localDate(of: instant) }
    public func day(after date: LocalDate) -> LocalDate { days.day(after: date) }
}
