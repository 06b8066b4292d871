import Foundation

/// The MASH's meetings (DESIGN.md flow 8): the SPA huddle and the MASH huddle each working morning, the MASH
/// meetings twice a day, and the monthly Midwifery Safeguarding Meeting. Pure rules on the working calendar: when
/// each meeting is held and which window of arrivals it reviews.
public struct MeetingSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case spaHuddle = "spa-huddle"
        case mashHuddle = "mash-huddle"
        case mash
        case midwifery
    }

    /// The monthly meeting: the `week`th `weekday` (ISO, 1 Monday … 7 Sunday) of each month at `time`; on a day
    /// that is not a working day, the next working day.
    public struct Monthly: Sendable, Equatable {
        public var week: Int
        public var weekday: Int
        public var time: TimeOfDay

        public init(week: Int, weekday: Int, time: TimeOfDay) {
            self.week = week
            self.weekday = weekday
            self.time = time
        }
    }

    public var spaHuddle: TimeOfDay
    public var mashHuddle: TimeOfDay
    /// What a huddle reviews ends at this time on its day (and began at the same time on the working day before).
    public var huddleCutoff: TimeOfDay
    /// The MASH meetings on each working day, in order.
    public var mash: [TimeOfDay]
    public var midwifery: Monthly

    public init(
        spaHuddle: TimeOfDay = TimeOfDay(9, 15), mashHuddle: TimeOfDay = TimeOfDay(9, 30),
        huddleCutoff: TimeOfDay = TimeOfDay(9, 0), mash: [TimeOfDay] = [TimeOfDay(11, 30), TimeOfDay(15, 0)],
        midwifery: Monthly = Monthly(week: 1, weekday: 2, time: TimeOfDay(13, 0))
    ) {
        self.spaHuddle = spaHuddle
        self.mashHuddle = mashHuddle
        self.huddleCutoff = huddleCutoff
        self.mash = mash.sorted()
        self.midwifery = midwifery
    }

    /// One sitting of a meeting: when it is held and the window of what it reviews.
    public struct Sitting: Sendable, Equatable, CustomStringConvertible {
        public var kind: Kind
        public var date: LocalDate
        public var at: Date
        /// What arrived in `reviewsFrom ..< reviewsUntil` is on a huddle's or the Midwifery meeting's list; for a
        /// MASH meeting, `reviewsUntil` is the next MASH meeting: clocks running out before it are on the list.
        public var reviewsFrom: Date
        public var reviewsUntil: Date
        /// A stable id: `mash-2026-12-07T11:30`.
        public var id: String

        public var description: String { id }
    }

    /// The sitting of `kind` held on `date` (the `slot`th MASH meeting of the day, from 0), nil when none is.
    public func sitting(_ kind: Kind, on date: LocalDate, slot: Int = 0, calendar: WorkingCalendar) -> Sitting? {
        switch kind {
        case .spaHuddle, .mashHuddle:
            guard calendar.isWorkingDay(date) else { return nil }
            let time = kind == .spaHuddle ? spaHuddle : mashHuddle
            let previous = previousWorkingDay(before: date, calendar: calendar)
            return Sitting(
                kind: kind, date: date, at: calendar.instant(date, time),
                reviewsFrom: calendar.instant(previous, huddleCutoff),
                reviewsUntil: calendar.instant(date, huddleCutoff), id: Self.id(kind, date, time))
        case .mash:
            guard calendar.isWorkingDay(date), mash.indices.contains(slot) else { return nil }
            let at = calendar.instant(date, mash[slot])
            let (nextDate, nextSlot) = nextHeld(.mash, atOrAfter: at.addingTimeInterval(1), calendar: calendar)
            let following = calendar.instant(nextDate, mash[nextSlot])
            let earlier =
                slot > 0
                ? calendar.instant(date, mash[slot - 1])
                : calendar.instant(
                    previousWorkingDay(before: date, calendar: calendar), mash.last ?? TimeOfDay(0, 0))
            return Sitting(
                kind: kind, date: date, at: at, reviewsFrom: earlier, reviewsUntil: following,
                id: Self.id(kind, date, mash[slot]))
        case .midwifery:
            guard let held = midwiferyDay(year: date.year, month: date.month, calendar: calendar), held == date
            else { return nil }
            let (year, month) = date.month == 1 ? (date.year - 1, 12) : (date.year, date.month - 1)
            let before = midwiferyDay(year: year, month: month, calendar: calendar) ?? date
            return Sitting(
                kind: kind, date: date, at: calendar.instant(date, midwifery.time),
                reviewsFrom: calendar.instant(before, midwifery.time),
                reviewsUntil: calendar.instant(date, midwifery.time), id: Self.id(kind, date, midwifery.time))
        }
    }

    /// The first sitting of `kind` held at or after `instant`.
    public func nextSitting(_ kind: Kind, after instant: Date, calendar: WorkingCalendar) -> Sitting {
        let (date, slot) = nextHeld(kind, atOrAfter: instant, calendar: calendar)
        return sitting(kind, on: date, slot: slot, calendar: calendar)!
    }

    /// When the lists of the next sittings next need looking at, from `instant`: the soonest moment a sitting
    /// comes within `lead` of its start, or, for one already within it, its start (after which the next sitting
    /// of its kind is another). Until then nothing about the next sittings can change but the clock.
    public func nextAgendaCheck(after instant: Date, lead: TimeInterval, calendar: WorkingCalendar) -> Date {
        Self.nextAgendaCheck(nextSittings(after: instant, calendar: calendar), after: instant, lead: lead)
    }

    /// As `nextAgendaCheck(after:lead:calendar:)`, from the next sittings already found.
    public static func nextAgendaCheck(_ sittings: [Sitting], after instant: Date, lead: TimeInterval) -> Date {
        sittings.map { sitting in
            let listDue = sitting.at.addingTimeInterval(-lead)
            return listDue > instant ? listDue : sitting.at
        }.min()!
    }

    /// The next sitting of each kind of meeting after `instant`.
    public func nextSittings(after instant: Date, calendar: WorkingCalendar) -> [Sitting] {
        Kind.allCases.map { nextSitting($0, after: instant, calendar: calendar) }
    }

    /// The last sitting of `kind` that started at or before `instant` (within the two months before it).
    public func lastSitting(_ kind: Kind, atOrBefore instant: Date, calendar: WorkingCalendar) -> Sitting {
        var held = nextSitting(kind, after: instant.addingTimeInterval(-62 * 86400), calendar: calendar)
        while case let later = nextSitting(kind, after: held.at.addingTimeInterval(1), calendar: calendar),
            later.at <= instant
        {
            held = later
        }
        return held
    }

    /// The day and slot of the first sitting of `kind` at or after `instant`.
    private func nextHeld(_ kind: Kind, atOrAfter instant: Date, calendar: WorkingCalendar) -> (LocalDate, Int) {
        var date = calendar.localDate(of: instant)
        // Bounded: a monthly meeting is at most two months on, whatever the holidays.
        for _ in 0..<100 {
            for slot in kind == .mash ? Array(mash.indices) : [0] where held(kind, on: date, slot: slot, calendar) {
                if calendar.instant(date, time(of: kind, slot: slot)) >= instant { return (date, slot) }
            }
            date = calendar.day(after: date)
        }
        preconditionFailure("no \(kind.rawValue) meeting within 100 days of \(instant)")
    }

    private func held(_ kind: Kind, on date: LocalDate, slot: Int, _ calendar: WorkingCalendar) -> Bool {
        switch kind {
        case .spaHuddle, .mashHuddle: calendar.isWorkingDay(date)
        case .mash: calendar.isWorkingDay(date) && mash.indices.contains(slot)
        case .midwifery: midwiferyDay(year: date.year, month: date.month, calendar: calendar) == date
        }
    }

    private func time(of kind: Kind, slot: Int) -> TimeOfDay {
        switch kind {
        case .spaHuddle: spaHuddle
        case .mashHuddle: mashHuddle
        case .mash: mash[slot]
        case .midwifery: midwifery.time
        }
    }

    /// The sitting whose id is `id` (`mash-2026-12-07T11:30`), nil when no such meeting is held.
    public func sitting(id: String, calendar: WorkingCalendar) -> Sitting? {
        for kind in Kind.allCases where id.hasPrefix(kind.rawValue + "-") {
            let rest = id.dropFirst(kind.rawValue.count + 1)
            let parts = rest.split(separator: "T")
            guard parts.count == 2, let date = LocalDate(String(parts[0])) else { continue }
            let slots = kind == .mash ? Array(mash.indices) : [0]
            for slot in slots {
                if let sitting = sitting(kind, on: date, slot: slot, calendar: calendar), sitting.id == id {
                    return sitting
                }
            }
        }
        return nil
    }

    /// The day of the month's Midwifery meeting: the configured weekday of the configured week, or the next
    /// working day when that is a bank holiday.
    func midwiferyDay(year: Int, month: Int, calendar: WorkingCalendar) -> LocalDate? {
        let first = LocalDate(year: year, month: month, day: 1)
        let offset = ((midwifery.weekday - calendar.weekday(of: first)) % 7 + 7) % 7
        let nominal = LocalDate(daysSinceEpoch: first.daysSinceEpoch + offset + (midwifery.week - 1) * 7)
        guard nominal.month == month else { return nil }
        return calendar.isWorkingDay(nominal) ? nominal : calendar.nextWorkingDay(after: nominal)
    }

    func previousWorkingDay(before date: LocalDate, calendar: WorkingCalendar) -> LocalDate {
        var day = LocalDate(daysSinceEpoch: date.daysSinceEpoch - 1)
        for _ in 0..<366 where !calendar.isWorkingDay(day) { day = LocalDate(daysSinceEpoch: day.daysSinceEpoch - 1) }
        return day
    }

    static func id(_ kind: Kind, _ date: LocalDate, _ time: TimeOfDay) -> String {
        "\(kind.rawValue)-\(date)T\(time)"
    }
}

/// What a MASH meeting considers: open enquiries whose answers are all in, or whose clock runs out before the
/// next meeting. The agencies that answered are the ones invited.
public struct MeetingAgenda: Sendable, Equatable {
    /// An open enquiry as the hub's store knows it (no personal data).
    public struct Enquiry: Sendable, Equatable {
        public var id: String
        public var rag: RAG
        /// The soonest of its running clocks (partners' answers, or the decision).
        public var due: Date
        /// Every agency asked has answered (the package has gone, or is ready).
        public var answersIn: Bool
        public var answeredBy: [String]
        /// Has an unborn child among its subjects (also on the Midwifery meeting's list).
        public var unborn: Bool

        public init(id: String, rag: RAG, due: Date, answersIn: Bool, answeredBy: [String], unborn: Bool = false) {
            self.id = id
            self.rag = rag
            self.due = due
            self.answersIn = answersIn
            self.answeredBy = answeredBy
            self.unborn = unborn
        }
    }

    public struct Item: Sendable, Equatable {
        public enum Why: String, Sendable, Equatable {
            case answersIn = "answers-in"
            case dueBeforeNextMeeting = "due-before-next-meeting"
        }
        public var enquiryID: String
        public var rag: RAG
        public var due: Date
        public var why: Why
        public var invited: [String]
    }

    public var sitting: MeetingSchedule.Sitting
    public var items: [Item]

    /// The list for a MASH meeting: Red first, then the soonest due.
    public static func mash(_ sitting: MeetingSchedule.Sitting, enquiries: [Enquiry]) -> MeetingAgenda {
        let items = enquiries.compactMap { enquiry -> Item? in
            let why: Item.Why
            if enquiry.answersIn {
                why = .answersIn
            } else if enquiry.due < sitting.reviewsUntil {
                why = .dueBeforeNextMeeting
            } else {
                return nil
            }
            return Item(
                enquiryID: enquiry.id, rag: enquiry.rag, due: enquiry.due, why: why,
                invited: Array(Set(enquiry.answeredBy)).sorted())
        }
        .sorted { ($0.rag == .red ? 0 : 1, $0.due, $0.enquiryID) < ($1.rag == .red ? 0 : 1, $1.due, $1.enquiryID) }
        return MeetingAgenda(sitting: sitting, items: items)
    }

    /// The agencies invited to the meeting: every agency that answered an enquiry on its list.
    public var invited: [String] { Array(Set(items.flatMap(\.invited))).sorted() }
}

/// What a huddle or the Midwifery meeting reviews: each thing that arrived in its window, by kind and time.
public struct Arrival: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case contact
        case enquiry
        case dan
        case missingReport = "missing-report"
        case foundReport = "found-report"
    }

    public var kind: Kind
    public var id: String
    public var at: Date
    /// A DAN or enquiry with an unborn child (the Midwifery meeting's list).
    public var unborn: Bool
    /// Arrived when the MASH was closed (overnight, a weekend, a bank holiday).
    public var outOfHours: Bool

    public init(kind: Kind, id: String, at: Date, unborn: Bool = false, outOfHours: Bool = false) {
        self.kind = kind
        self.id = id
        self.at = at
        self.unborn = unborn
        self.outOfHours = outOfHours
    }

    /// What of `arrivals` is on `sitting`'s list: its window's arrivals (the Midwifery meeting: only those with
    /// an unborn child), oldest first.
    public static func list(for sitting: MeetingSchedule.Sitting, _ arrivals: [Arrival]) -> [Arrival] {
        arrivals.filter {
            $0.at >= sitting.reviewsFrom && $0.at < sitting.reviewsUntil && (sitting.kind != .midwifery || $0.unborn)
        }
        .sorted { ($0.at, $0.id) < ($1.at, $1.id) }
    }
}

/// `mash.meeting-record/1`: what a meeting was attended by and agreed, recorded by the Practice Manager.
public struct MeetingRecord: Sendable, Equatable {
    public struct Attendee: Sendable, Equatable {
        public var staffID: String
        public var name: String
        /// The party they came for (`police`, `health`, `csc`, …).
        public var agency: String

        public init(staffID: String, name: String, agency: String) {
            self.staffID = staffID
            self.name = name
            self.agency = agency
        }
    }

    public struct Item: Sendable, Equatable {
        public var enquiryID: String
        public var agreed: DecisionOutcome
        /// What was agreed and why, in words (the decision's rationale).
        public var note: String

        public init(enquiryID: String, agreed: DecisionOutcome, note: String) {
            self.enquiryID = enquiryID
            self.agreed = agreed
            self.note = note
        }
    }

    /// The sitting's id (`mash-2026-12-07T11:30`, `MeetingSchedule.Sitting.id`).
    public var meetingID: String
    public var heldAt: Date
    public var recordedBy: String
    public var attendees: [Attendee]
    public var items: [Item]

    public init(meetingID: String, heldAt: Date, recordedBy: String, attendees: [Attendee], items: [Item]) {
        self.meetingID = meetingID
        self.heldAt = heldAt
        self.recordedBy = recordedBy
        self.attendees = attendees
        self.items = items
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.meetingRecord)
        meetingID = try reader.identifier("meetingID")
        heldAt = try reader.pastInstant("heldAt")
        recordedBy = try reader.identifier("recordedBy")
        attendees = try reader.objects("attendees") { reader in
            Attendee(
                staffID: try reader.identifier("staffID"), name: try reader.text("name"),
                agency: try reader.identifier("agency"))
        }
        if attendees.isEmpty { throw reader.error("attendees", "must name at least one person who attended") }
        items = try reader.objects("items") { reader in
            Item(
                enquiryID: try reader.identifier("enquiryID"), agreed: try reader.enum("agreed", DecisionOutcome.self),
                note: try reader.text("note"))
        }
        if Set(items.map(\.enquiryID)).count != items.count {
            throw reader.error("items", "names an enquiry twice: one agreed outcome each")
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.meetingRecord.rawValue, "meetingID": meetingID, "heldAt": Instant.format(heldAt),
            "recordedBy": recordedBy,
            "attendees": attendees.map { ["staffID": $0.staffID, "name": $0.name, "agency": $0.agency] },
            "items": items.map { ["enquiryID": $0.enquiryID, "agreed": $0.agreed.rawValue, "note": $0.note] },
        ])
    }

    /// The agencies that attended.
    public var agencies: [String] { Array(Set(attendees.map(\.agency))).sorted() }
}

/// `mash.meeting-list-request/1`: a member of staff asks the hub to send the next sitting of a meeting its list
/// now (after late arrivals, say), as well as at its time.
public struct MeetingListRequest: Sendable, Equatable {
    public var requestedBy: String
    public var kind: MeetingSchedule.Kind
    /// A sitting of `kind` (one already held, to record it late); nil: the next one.
    public var meetingID: String?
    public var at: Date
    public var expiresAt: Date

    public init(
        requestedBy: String, kind: MeetingSchedule.Kind, meetingID: String? = nil, at: Date, expiresAt: Date
    ) {
        self.requestedBy = requestedBy
        self.kind = kind
        self.meetingID = meetingID
        self.at = at
        self.expiresAt = expiresAt
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.meetingListRequest)
        requestedBy = try reader.identifier("requestedBy")
        kind = try reader.enum("kind", MeetingSchedule.Kind.self)
        meetingID = try reader.optionalIdentifier("meetingID")
        at = try reader.instant("at")
        expiresAt = try reader.instant("expiresAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.meetingListRequest.rawValue, "requestedBy": requestedBy, "kind": kind.rawValue,
            "at": Instant.format(at), "expiresAt": Instant.format(expiresAt),
        ]
        object["meetingID"] = meetingID
        return DocumentWriter.encode(object)
    }
}
