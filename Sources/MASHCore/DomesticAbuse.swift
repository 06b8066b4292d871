import Foundation

/// A Domestic Abuse Notification from Police: one incident, the risk assessment, the adults and the children.
public struct DomesticAbuseNotification: Sendable, Equatable {
    /// Graded by the risk tool; the order matters, since an uplift may only raise a level.
    public enum RiskLevel: String, Sendable, CaseIterable, Comparable {
        case standard, medium, high

        public static func < (a: RiskLevel, b: RiskLevel) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }

    public struct RiskAssessment: Sendable, Equatable {
        /// "DASH", or whichever newer tool the force uses, with its version.
        public var tool: String
        public var toolVersion: String
        public var score: Int?
        public var level: RiskLevel
        /// A professional-judgement uplift; never lower than `level`.
        public var uplift: RiskLevel?
        public var upliftReason: String?

        public init(
            tool: String, toolVersion: String, score: Int? = nil, level: RiskLevel, uplift: RiskLevel? = nil,
            upliftReason: String? = nil
        ) {
            self.tool = tool
            self.toolVersion = toolVersion
            self.score = score
            self.level = level
            self.uplift = uplift
            self.upliftReason = upliftReason
        }

        /// The level the hub acts on: the uplift when there is one.
        public var effectiveLevel: RiskLevel { max(level, uplift ?? level) }
    }

    public struct Child: Sendable, Equatable {
        /// Forename, surname, date of birth, and the UPN when Police know it; none of them for an unborn child.
        public var person: Person
        /// Weeks of gestation of an unborn child.
        public var unbornWeeks: Int?
        /// Whether the child was present at the incident.
        public var present: Bool

        public init(person: Person, unbornWeeks: Int? = nil, present: Bool) {
            self.person = person
            self.unbornWeeks = unbornWeeks
            self.present = present
        }

        public var isUnborn: Bool { unbornWeeks != nil }
    }

    public var id: String
    /// The police reference of the incident (the occurrence number).
    public var policeReference: String
    public var occurredAt: Date
    public var place: String
    /// Brief circumstances, in the officer's words.
    public var circumstances: String
    public var assessment: RiskAssessment
    /// The victim and the alleged perpetrator (`role`: victim, alleged-perpetrator).
    public var adults: [Person]
    public var children: [Child]

    public init(
        id: String, policeReference: String, occurredAt: Date, place: String, circumstances: String,
        assessment: RiskAssessment, adults: [Person], children: [Child]
    ) {
        self.id = id
        self.policeReference = policeReference
        self.occurredAt = occurredAt
        self.place = place
        self.circumstances = circumstances
        self.assessment = assessment
        self.adults = adults
        self.children = children
    }

    static let adultRoles: Set<String> = ["victim", "alleged-perpetrator"]

    /// Reads a DAN; an incident later than `now` (beyond clock skew) is refused.
    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.domesticAbuseNotification)
        id = try reader.identifier("id")
        policeReference = try reader.string("policeReference")
        occurredAt = try reader.pastInstant("occurredAt")
        place = try reader.string("place")
        circumstances = try reader.string("circumstances")
        var risk = try reader.object("riskAssessment")
        assessment = RiskAssessment(
            tool: try risk.string("tool"), toolVersion: try risk.string("toolVersion"),
            score: try risk.optionalInt("score"), level: try risk.enum("level", RiskLevel.self),
            uplift: try risk.optionalEnum("uplift", RiskLevel.self),
            upliftReason: try risk.optionalString("upliftReason"))
        if let uplift = assessment.uplift {
            guard uplift >= assessment.level else {
                throw risk.error(
                    "uplift",
                    "'\(uplift.rawValue)' is below the assessed level '\(assessment.level.rawValue)': an uplift never lowers a level"
                )
            }
            guard assessment.upliftReason?.isEmpty == false else {
                throw risk.error("upliftReason", "is required with an uplift (the professional judgement)")
            }
        }
        try risk.finish()
        adults = try reader.objects("adults") { adult in
            let person = try Person(reading: &adult)
            guard let role = person.role, Self.adultRoles.contains(role) else {
                throw adult.error("role", "must be one of \(Self.adultRoles.sorted().joined(separator: ", "))")
            }
            return person
        }
        children = try reader.objects("children") { child in
            let weeks = try child.optionalInt("unbornWeeks")
            let present = try child.optionalBool("present")
            let person = try Person(reading: &child)
            if let weeks {
                guard (1...42).contains(weeks) else { throw child.error("unbornWeeks", "must be 1 to 42") }
                guard present == nil else {
                    throw child.error("present", "is not given for an unborn child (unbornWeeks alone)")
                }
                if person != Person() {
                    let given = Person.Field.allCases.first { person.json[$0.rawValue] != nil }
                    throw child.error(
                        given?.rawValue ?? "unbornWeeks", "is not given for an unborn child (unbornWeeks alone)")
                }
            } else {
                guard present != nil else {
                    throw child.error("present", "is required for a born child (true or false)")
                }
                guard person.forename != nil, person.surname != nil else {
                    throw child.error(person.forename == nil ? "forename" : "surname", "is required for a born child")
                }
                guard person.dateOfBirth != nil else {
                    throw child.error("dateOfBirth", "is required (or unbornWeeks for an unborn child)")
                }
            }
            return Child(person: person, unbornWeeks: weeks, present: present ?? false)
        }
        guard !children.isEmpty else { throw reader.error("children", "a DAN names at least one child") }
        try reader.finish()
    }

    public var jsonObject: [String: Any] {
        var risk: [String: Any] = [
            "tool": assessment.tool, "toolVersion": assessment.toolVersion, "level": assessment.level.rawValue,
        ]
        risk["score"] = assessment.score
        risk["uplift"] = assessment.uplift?.rawValue
        risk["upliftReason"] = assessment.upliftReason
        return [
            "schema": DocumentType.domesticAbuseNotification.rawValue, "id": id, "policeReference": policeReference,
            "occurredAt": Instant.format(occurredAt), "place": place, "circumstances": circumstances,
            "riskAssessment": risk, "adults": adults.map(\.json),
            "children": children.map { child -> [String: Any] in
                if let weeks = child.unbornWeeks { return ["unbornWeeks": weeks] }
                var object = child.person.json
                object["present"] = child.present
                return object
            },
        ]
    }

    public var json: [UInt8] { DocumentWriter.encode(jsonObject) }
}

/// Pre-triage flags the protocol asks for on every DAN.
public enum DANFlag: String, Sendable, CaseIterable, Comparable {
    /// A child already open to an area team.
    case openCase = "open-case"
    /// An unborn child under 16 weeks' gestation.
    case unbornUnder16Weeks = "unborn-under-16-weeks"
    /// A child under one year old.
    case childUnderOne = "child-under-1"

    public static func < (a: DANFlag, b: DANFlag) -> Bool { a.rawValue < b.rawValue }
}

/// A child's entry in the CSC open-case register: who holds the case.
public struct OpenCase: Sendable, Equatable {
    public var socialWorker: String
    public var team: String
    /// A looked-after child placed here by another authority (`la-<code>`).
    public var placingAuthority: String?

    public init(socialWorker: String, team: String, placingAuthority: String? = nil) {
        self.socialWorker = socialWorker
        self.team = team
        self.placingAuthority = placingAuthority
    }
}

/// Where a DAN goes (Medway MASH protocol): High to the Practice Manager as an immediate Red referral; each
/// child open to CSC as a significant contact to the allocated social worker; Medium and Standard with any
/// child not open to the next daily triage. Every DAN is also copied to Probation (not decided here).
public struct DANRoute: Sendable, Equatable {
    public struct Contact: Sendable, Equatable {
        /// The index of the child in the DAN.
        public var child: Int
        public var openCase: OpenCase

        public init(child: Int, openCase: OpenCase) {
            self.child = child
            self.openCase = openCase
        }
    }

    public var referral: Bool
    public var contacts: [Contact]
    /// The triage meeting's date, for a DAN below High with a child not open to CSC.
    public var triageDate: LocalDate?
    public var flags: [DANFlag]

    /// `openCases[i]` is the register entry of child `i`, if open.
    public static func route(
        _ dan: DomesticAbuseNotification, openCases: [Int: OpenCase], receivedAt: Date, triage: TriageSchedule,
        calendar: WorkingCalendar
    ) -> DANRoute {
        let today = calendar.localDate(of: receivedAt)
        var flags: Set<DANFlag> = []
        var contacts: [Contact] = []
        for (index, child) in dan.children.enumerated() {
            if let weeks = child.unbornWeeks {
                if weeks < 16 { flags.insert(.unbornUnder16Weeks) }
            } else if let born = child.person.dateOfBirth, Self.isUnderOne(born: born, on: today) {
                flags.insert(.childUnderOne)
            }
            if let open = openCases[index] {
                flags.insert(.openCase)
                contacts.append(Contact(child: index, openCase: open))
            }
        }
        let referral = dan.assessment.effectiveLevel == .high
        let someNotOpen = dan.children.indices.contains { openCases[$0] == nil }
        return DANRoute(
            referral: referral, contacts: contacts,
            triageDate: !referral && someNotOpen ? triage.nextMeeting(after: receivedAt, calendar: calendar) : nil,
            flags: flags.sorted())
    }

    static func isUnderOne(born: LocalDate, on day: LocalDate) -> Bool {
        let first = LocalDate(
            year: born.year + 1, month: born.month, day: born.month == 2 && born.day == 29 ? 28 : born.day)
        return day < first && born <= day
    }
}

/// The daily DAN triage: a meeting at a set time on each MASH working day.
public struct TriageSchedule: Sendable, Equatable {
    public var time: TimeOfDay

    public init(time: TimeOfDay) { self.time = time }

    /// The first meeting after `instant`: today's if it has not started, else the next working day's.
    public func nextMeeting(after instant: Date, calendar: WorkingCalendar) -> LocalDate {
        let today = calendar.localDate(of: instant)
        if calendar.isWorkingDay(today) && instant < calendar.instant(today, time) { return today }
        return calendar.nextWorkingDay(after: today)
    }
}

/// Age in whole years on `day`.
public func age(born: LocalDate, on day: LocalDate) -> Int {
    var years = day.year - born.year
    if (day.month, day.day) < (born.month, born.day) { years -= 1 }
    return years
}
