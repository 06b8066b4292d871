import Foundation

/// How a school's joiners are judged: who starts at a standard transition point, and how long the school has
/// to make a new-pupil return for the others.
public struct RollPolicy: Sendable, Equatable {
    /// The year group a school starts with ("R" for a primary, "7" for a secondary).
    public var firstYearGroup: String?
    /// Starters in the first year group on the first day of the school year need no return.
    public var exemptFirstYearStarters: Bool
    /// A return is due by the end of this day after entry.
    public var returnWithinDays: Int

    public init(firstYearGroup: String?, exemptFirstYearStarters: Bool = true, returnWithinDays: Int = 5) {
        self.firstYearGroup = firstYearGroup
        self.exemptFirstYearStarters = exemptFirstYearStarters
        self.returnWithinDays = returnWithinDays
    }
}

/// A school's new roll against its last one: leavers (with their ground, and a child-missing-education alert
/// when nobody knows where they went), joiners (with a return due when they join outside a standard
/// transition point) and flags for identifiers that need a person to look. Nothing is dropped: a flagged
/// pupil stays on the roll.
public struct RollDiff: Sendable, Equatable {
    public struct Leaver: Sendable, Equatable {
        public var pupil: RollPupil
        /// The deletion ground the school gave, or why the hub thinks the pupil left.
        public var ground: String
        /// No known destination: a child-missing-education alert.
        public var missingEducation: Bool
    }

    public struct Joiner: Sendable, Equatable {
        public var pupil: RollPupil
        /// The day by the end of which a new-pupil return is due; nil for a standard starter.
        public var returnDue: LocalDate?
    }

    public struct Flag: Sendable, Equatable {
        public enum Kind: String, Sendable, CaseIterable {
            case invalidUPN = "invalid-upn"
            case temporaryUPN = "temporary-upn"
            case missingUPN = "missing-upn"
            /// The same UPN names a different child (another name and date of birth).
            case identityConflict = "identity-conflict"
        }

        public var kind: Kind
        public var pupil: RollPupil
        public var detail: String
    }

    public var leavers: [Leaver] = []
    public var joiners: [Joiner] = []
    public var flags: [Flag] = []
    /// The roll to keep: the file itself when full; the last roll updated with the file when partial.
    public var roll: [RollPupil] = []
    /// True for a school's first roll: nothing to compare with, so nobody is a joiner or a leaver yet.
    public var baseline = false

    static let unknownDestinations: Set<String> = ["", "unknown", "not known", "n/a", "none"]

    public static func compare(
        previous: [RollPupil]?, with roll: SchoolRoll, calendar: SchoolCalendar?, policy: RollPolicy
    ) -> RollDiff {
        var diff = RollDiff()
        diff.baseline = previous == nil
        let previous = previous ?? []
        // Positions, not copies: a pupil is large, and most are looked up once.
        var earlier: [String: Int] = [:]
        earlier.reserveCapacity(previous.count)
        for (index, pupil) in previous.enumerated() where earlier[pupil.diffKey] == nil {
            earlier[pupil.diffKey] = index
        }
        var seen: [String: Int] = [:]
        seen.reserveCapacity(roll.pupils.count)
        var firstDays: [LocalDate: LocalDate?] = [:]

        for (index, pupil) in roll.pupils.enumerated() {
            switch pupil.upnStatus {
            case .valid: break
            case .temporary: diff.flags.append(Flag(kind: .temporaryUPN, pupil: pupil, detail: "a temporary UPN"))
            case .invalid: diff.flags.append(Flag(kind: .invalidUPN, pupil: pupil, detail: "the check letter is wrong"))
            case .missing: diff.flags.append(Flag(kind: .missingUPN, pupil: pupil, detail: "no UPN"))
            }
            let key = pupil.diffKey
            if let first = seen[key] {
                let twin = roll.pupils[first]
                if !pupil.upn.isEmpty, !Self.samePerson(twin, pupil) {
                    diff.flags.append(
                        Flag(
                            kind: .identityConflict, pupil: pupil,
                            detail: "the UPN is also on \(twin.locator) for another child"))
                }
            } else {
                seen[key] = index
            }
            let before = earlier[key].map { previous[$0] }
            if let before, !pupil.upn.isEmpty, !Self.samePerson(before, pupil) {
                diff.flags.append(
                    Flag(
                        kind: .identityConflict, pupil: pupil,
                        detail: "the last roll has this UPN for another child (name and date of birth differ)"))
                continue
            }
            if pupil.hasLeft {
                if before?.hasLeft != true && !diff.baseline {
                    diff.leavers.append(
                        Leaver(
                            pupil: pupil, ground: pupil.leavingReason ?? "no ground given",
                            missingEducation: unknownDestinations.contains((pupil.destination ?? "").lowercased())))
                }
            } else if before == nil && !diff.baseline {
                var due: LocalDate?
                if let entry = pupil.entryDate {
                    let firstDay = firstDays[entry] ?? calendar?.firstDayOfYear(containing: entry)
                    firstDays[entry] = firstDay
                    let standard =
                        policy.exemptFirstYearStarters && entry == firstDay && policy.firstYearGroup != nil
                        && pupil.yearGroup == policy.firstYearGroup
                    if !standard { due = entry.adding(days: policy.returnWithinDays) }
                }
                diff.joiners.append(Joiner(pupil: pupil, returnDue: due))
            }
        }

        switch roll.qualifier {
        case .full:
            diff.roll = roll.pupils
            if !diff.baseline {
                for pupil in previous where seen[pupil.diffKey] == nil && !pupil.hasLeft {
                    diff.leavers.append(
                        Leaver(
                            pupil: pupil, ground: "missing from a full roll with no ground given",
                            missingEducation: true))
                }
            }
        case .partial:
            var kept = previous
            var position: [String: Int] = [:]
            for (index, pupil) in kept.enumerated() where position[pupil.diffKey] == nil {
                position[pupil.diffKey] = index
            }
            for pupil in roll.pupils {
                if let index = position[pupil.diffKey], Self.samePerson(kept[index], pupil) {
                    kept[index] = pupil
                } else {
                    position[pupil.diffKey] = kept.count
                    kept.append(pupil)
                }
            }
            diff.roll = kept
        }
        return diff
    }

    /// Another child when the date of birth differs, or both names do (a surname alone changes on adoption or
    /// marriage of a parent).
    static func samePerson(_ a: RollPupil, _ b: RollPupil) -> Bool {
        func clean(_ text: String) -> String { text.lowercased().filter { $0.isLetter } }
        if a.dateOfBirth != b.dateOfBirth { return false }
        if a.surname == b.surname || a.forename == b.forename { return true }
        return clean(a.surname) == clean(b.surname) || clean(a.forename) == clean(b.forename)
    }
}

extension LocalDate {
    /// `days` calendar days later.
    public func adding(days: Int) -> LocalDate {
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day + days
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: components)!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }
}
