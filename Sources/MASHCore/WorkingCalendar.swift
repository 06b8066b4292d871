import Foundation

/// A calendar day in the hub's own time zone (Europe/London), written `2026-12-25`.
public struct LocalDate: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `yyyy-MM-dd`; nil for anything else, including days a month does not have (31 February).
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), d >= 1, d <= LocalDate.days(inMonth: m, of: y)
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }

    /// `yyyy-MM-dd`, written digit by digit: rolls write hundreds of thousands.
    public var description: String {
        guard (0...9999).contains(year), (0...99).contains(month), (0...99).contains(day) else {
            func pad(_ value: Int, _ width: Int) -> String {
                let digits = String(value)
                return String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        }
        return String(unsafeUninitializedCapacity: 10) { out in
            func write(_ value: Int, at offset: Int, width: Int) {
                var rest = value
                for position in stride(from: offset + width - 1, through: offset, by: -1) {
                    out[position] = UInt8(48 + rest % 10)
                    rest /= 10
                }
            }
            write(year, at: 0, width: 4)
            write(month, at: 5, width: 2)
            write(day, at: 8, width: 2)
            out[4] = 0x2D
            out[7] = 0x2D
            return 10
        }
    }
}

/// A time of day, to the minute.
public struct TimeOfDay: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var hour: Int
    public var minute: Int

    public init(_ hour: Int, _ minute: Int) {
        self.hour = hour
        self.minute = minute
    }

    var seconds: Int { hour * 3600 + minute * 60 }

    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.seconds < b.seconds }

    public var description: String { String(format: "%02d:%02d", hour, minute) }
}

/// When the MASH is open: opening hours per weekday, bank holidays excluded, in the hub's time zone.
/// All answers are absolute instants; a deadline computed once never moves.
public struct WorkingCalendar: Sendable {
    public struct Hours: Sendable, Equatable {
        public var opens: TimeOfDay
        public var closes: TimeOfDay

        public init(opens: TimeOfDay, closes: TimeOfDay) {
            precondition(opens < closes, "a working day must close after it opens")
            self.opens = opens
            self.closes = closes
        }
    }

    public let timeZone: TimeZone
    /// Opening hours by ISO weekday (1 Monday ... 7 Sunday); a missing day is closed.
    public let hours: [Int: Hours]
    public let holidays: Set<LocalDate>

    public init(timeZone: TimeZone, hours: [Int: Hours], holidays: Set<LocalDate>) {
        self.timeZone = timeZone
        self.hours = hours
        self.holidays = holidays
    }

    /// The Medway MASH: Monday to Thursday 09:00–17:15, Friday 09:00–16:45, Europe/London.
    public static func mash(holidays: Set<LocalDate>) -> WorkingCalendar {
        let long = Hours(opens: TimeOfDay(9, 0), closes: TimeOfDay(17, 15))
        let friday = Hours(opens: TimeOfDay(9, 0), closes: TimeOfDay(16, 45))
        return WorkingCalendar(
            timeZone: TimeZone(identifier: "Europe/London")!, hours: [1: long, 2: long, 3: long, 4: long, 5: friday],
            holidays: holidays)
    }

    // MARK: Days

    /// The hub's local day at `instant`: the zone's offset from UTC then, and day arithmetic.
    public func localDate(of instant: Date) -> LocalDate {
        LocalDate(daysSinceEpoch: Int((localSeconds(at: instant) / 86_400).rounded(.down)))
    }

    private func localOffset(at instant: Date) -> TimeInterval { TimeInterval(timeZone.secondsFromGMT(for: instant)) }

    /// Seconds since 1970-01-01 00:00 on the hub's wall clock at `instant`.
    private func localSeconds(at instant: Date) -> TimeInterval {
        instant.timeIntervalSince1970 + localOffset(at: instant)
    }

    /// ISO weekday, 1 Monday ... 7 Sunday: day arithmetic, no time zone involved (1970-01-01 was a Thursday).
    public func weekday(of date: LocalDate) -> Int {
        ((date.daysSinceEpoch + 3) % 7 + 7) % 7 + 1
    }

    public func isWorkingDay(_ date: LocalDate) -> Bool {
        hours[weekday(of: date)] != nil && !holidays.contains(date)
    }

    public func day(after date: LocalDate) -> LocalDate {
        LocalDate(daysSinceEpoch: date.daysSinceEpoch + 1)
    }

    public func nextWorkingDay(after date: LocalDate) -> LocalDate {
        var day = self.day(after: date)
        // Bounded: no calendar has a year without a working day.
        for _ in 0..<366 where !isWorkingDay(day) { day = self.day(after: day) }
        return day
    }

    /// The instant at `time` on `date` in the hub's time zone. A time the clocks skip or repeat (01:00–02:00
    /// in Europe/London on the changeover nights; never within working hours) is taken as Foundation's
    /// `Calendar` takes it: a skipped time moves forward by the gap, a repeated one is its first occurrence.
    public func instant(_ date: LocalDate, _ time: TimeOfDay) -> Date {
        instant(date, seconds: TimeInterval(time.seconds))
    }

    private func instant(_ date: LocalDate, seconds: TimeInterval) -> Date {
        let local = TimeInterval(date.daysSinceEpoch) * 86_400 + seconds
        // The offset in force a day either side brackets the one that applies; try the earlier instant first.
        let before = localOffset(at: Date(timeIntervalSince1970: local - 86_400))
        let after = localOffset(at: Date(timeIntervalSince1970: local + 86_400))
        for offset in Set([before, after]).sorted(by: >) {
            let candidate = Date(timeIntervalSince1970: local - offset)
            if localOffset(at: candidate) == offset { return candidate }
        }
        // Skipped by the clocks: the same distance past the change, at the later offset.
        return Date(timeIntervalSince1970: local - min(before, after))
    }

    /// Opening and closing instants of a working day; nil on a closed day.
    public func session(on date: LocalDate) -> (opens: Date, closes: Date)? {
        guard isWorkingDay(date), let h = hours[weekday(of: date)] else { return nil }
        return (instant(date, h.opens), instant(date, h.closes))
    }

    // MARK: Instants

    public func isOpen(at instant: Date) -> Bool {
        guard let session = session(on: localDate(of: instant)) else { return false }
        return instant >= session.opens && instant < session.closes
    }

    /// `instant` itself when the MASH is open then; otherwise the next opening. A contact received out of
    /// hours counts as received at this instant.
    public func nextOpening(atOrAfter instant: Date) -> Date {
        let today = localDate(of: instant)
        if let session = session(on: today) {
            if instant < session.opens { return session.opens }
            if instant < session.closes { return instant }
        }
        return session(on: nextWorkingDay(after: today))!.opens
    }

    /// The instant when `duration` of working time has passed since `start` (counting from the next opening
    /// if `start` is out of hours). A deadline that uses up a day exactly falls at that day's closing time.
    public func adding(workingTime duration: TimeInterval, to start: Date) -> Date {
        var remaining = max(0, duration)
        var cursor = nextOpening(atOrAfter: start)
        while true {
            let session = session(on: localDate(of: cursor))!
            let available = session.closes.timeIntervalSince(cursor)
            if remaining <= available { return cursor.addingTimeInterval(remaining) }
            remaining -= available
            cursor = self.session(on: nextWorkingDay(after: localDate(of: cursor)))!.opens
        }
    }

    /// Working time between two instants (zero if `end` is not after `start`).
    public func workingTime(from start: Date, to end: Date) -> TimeInterval {
        var total: TimeInterval = 0
        var cursor = nextOpening(atOrAfter: start)
        while cursor < end {
            let session = session(on: localDate(of: cursor))!
            total += min(session.closes, end).timeIntervalSince(cursor)
            cursor = self.session(on: nextWorkingDay(after: localDate(of: cursor)))!.opens
        }
        return total
    }

    /// The same time of day on the next working day after `start`'s, but no later than that day's closing
    /// time (Thursday 17:00 gives Friday 16:45). `start` out of hours counts from the next opening.
    public func sameTimeNextWorkingDay(after start: Date) -> Date {
        let effective = nextOpening(atOrAfter: start)
        let day = localDate(of: effective)
        let local = localSeconds(at: effective)
        let secondsIntoDay = local - (local / 86_400).rounded(.down) * 86_400
        let next = nextWorkingDay(after: day)
        let session = session(on: next)!
        let candidate = instant(next, seconds: secondsIntoDay)
        return min(max(candidate, session.opens), session.closes)
    }
}

/// England and Wales bank holidays from GOV.UK's own file (https://www.gov.uk/bank-holidays.json, copied to
/// Config/calendar/bank-holidays.json): `{"england-and-wales": {"events": [{"date": "2026-12-25", ...}]}}`.
public enum BankHolidays {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// The file at `path`, read and checked.
    public static func englandAndWales(file path: String) throws -> Set<LocalDate> {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "\(path): cannot read the bank holidays file")
        }
        return try englandAndWales(fromGOVUK: data, source: path)
    }

    public static func englandAndWales(fromGOVUK data: Data, source: String) throws -> Set<LocalDate> {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Invalid(description: "\(source): not a JSON object")
        }
        guard let division = root["england-and-wales"] as? [String: Any],
            let events = division["events"] as? [[String: Any]]
        else { throw Invalid(description: "\(source): no \"england-and-wales\".\"events\" array") }
        var dates = Set<LocalDate>()
        for (index, event) in events.enumerated() {
            guard let text = event["date"] as? String, let date = LocalDate(text) else {
                throw Invalid(
                    description: "\(source): england-and-wales.events[\(index)].date is not a yyyy-MM-dd date")
            }
            dates.insert(date)
        }
        return dates
    }
}
