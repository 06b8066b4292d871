import Foundation

/// The stages of the protocol's "Dispute resolution and escalation": discussion at the MASH, then in writing to
/// the First Response Area Manager, who resolves it, raises it with the partner agencies' senior staff, or takes
/// it to the MASH Operation Group.
public enum ChallengeStage: String, Sendable, CaseIterable, Codable {
    case raised
    case discussedAtMASH = "discussed-at-mash"
    case withAreaManager = "with-area-manager"
    case withSeniorStaff = "with-senior-staff"
    case atOperationGroup = "at-operation-group"
    case resolved

    /// Where a challenge may go from here: on up the route (a stage may be passed over: a challenge made in
    /// writing goes straight to the Area Manager), or resolved; never back.
    public var next: [ChallengeStage] {
        guard self != .resolved, let index = Self.allCases.firstIndex(of: self) else { return [] }
        return Array(Self.allCases[(index + 1)...])
    }

    /// In words, for a page or a notice.
    public var words: String {
        switch self {
        case .raised: "raised"
        case .discussedAtMASH: "discussed at the MASH meeting"
        case .withAreaManager: "with the First Response Area Manager"
        case .withSeniorStaff: "raised with the partner agencies' senior staff"
        case .atOperationGroup: "taken to the MASH Operation Group"
        case .resolved: "resolved"
        }
    }
}

/// `mash.challenge/1`: a party to an enquiry disagrees with its decision, in writing.
public struct Challenge: Sendable, Equatable {
    public struct RaisedBy: Sendable, Equatable {
        /// The member of staff, at the party that sends the challenge.
        public var staffID: String
        public var name: String
        public var role: String

        public init(staffID: String, name: String, role: String) {
            self.staffID = staffID
            self.name = name
            self.role = role
        }
    }

    public var id: String
    /// The enquiry whose decision is challenged; empty when the challenge names only `contactID` (the hub fills
    /// it in from the contact).
    public var enquiryID: String
    /// A professional's contact whose outcome is challenged, from the portal it came through (a portal does not
    /// know the enquiry its contact became).
    public var contactID: String?
    public var raisedBy: RaisedBy
    /// Why the decision is wrong, and what the party asks for instead.
    public var grounds: String
    public var raisedAt: Date

    public init(
        id: String, enquiryID: String, contactID: String? = nil, raisedBy: RaisedBy, grounds: String, raisedAt: Date
    ) {
        self.id = id
        self.enquiryID = enquiryID
        self.contactID = contactID
        self.raisedBy = raisedBy
        self.grounds = grounds
        self.raisedAt = raisedAt
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.challenge)
        id = try reader.identifier("id")
        contactID = try reader.optionalIdentifier("contactID")
        if let enquiryID = try reader.optionalIdentifier("enquiryID") {
            self.enquiryID = enquiryID
        } else if contactID != nil {
            enquiryID = ""
        } else {
            throw reader.error("enquiryID", "is required (or contactID, for the outcome of a professional's contact)")
        }
        var who = try reader.object("raisedBy")
        raisedBy = RaisedBy(
            staffID: try who.identifier("staffID"), name: try who.text("name"), role: try who.text("role"))
        try who.finish()
        grounds = try reader.text("grounds")
        raisedAt = try reader.pastInstant("raisedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.challenge.rawValue, "id": id,
            "raisedBy": ["staffID": raisedBy.staffID, "name": raisedBy.name, "role": raisedBy.role],
            "grounds": grounds, "raisedAt": Instant.format(raisedAt),
        ]
        if !enquiryID.isEmpty { object["enquiryID"] = enquiryID }
        object["contactID"] = contactID
        return DocumentWriter.encode(object)
    }
}

/// `mash.challenge-stage/1`: the Area Manager (or the Practice Manager, for the MASH meeting's discussion)
/// records that a challenge moved on, and the hub tells the party that raised it (the same document, with the
/// next stage's deadline in `x-mash-due`).
public struct ChallengeStageRecord: Sendable, Equatable {
    public var id: String
    public var challengeID: String
    public var stage: ChallengeStage
    /// What was discussed or decided at this stage, in words the party that raised it may read.
    public var note: String
    /// Required when `stage` is `resolved`: how it was resolved (the decision stands, or what changes).
    public var resolution: String?
    public var recordedBy: String
    public var at: Date

    public init(
        id: String, challengeID: String, stage: ChallengeStage, note: String, resolution: String? = nil,
        recordedBy: String, at: Date
    ) {
        self.id = id
        self.challengeID = challengeID
        self.stage = stage
        self.note = note
        self.resolution = resolution
        self.recordedBy = recordedBy
        self.at = at
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.challengeStage)
        id = try reader.identifier("id")
        challengeID = try reader.identifier("challengeID")
        stage = try reader.enum("stage", ChallengeStage.self)
        note = try reader.text("note")
        resolution = try reader.optionalString("resolution")
        if stage == .resolved, (resolution ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw reader.error("resolution", "is required when the stage is resolved: say how it was resolved")
        }
        if stage != .resolved, resolution != nil {
            throw reader.error("resolution", "is only for the stage resolved")
        }
        recordedBy = try reader.identifier("recordedBy")
        at = try reader.pastInstant("at")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.challengeStage.rawValue, "id": id, "challengeID": challengeID,
            "stage": stage.rawValue, "note": note, "recordedBy": recordedBy, "at": Instant.format(at),
        ]
        object["resolution"] = resolution
        return DocumentWriter.encode(object)
    }
}

/// A challenge's life as a value: which stage it is at and until when, and what a new stage does.
public struct ChallengeProcess: Sendable, Equatable {
    public struct Refused: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String
    }

    public enum Effect: Sendable, Equatable {
        /// Tell the party that raised it (and the Area Manager, when someone else recorded the stage).
        case tellRaiser
        /// Start the stage's clock, to `due`; stop the last one's.
        case startClock(due: Date)
        case stopClock
    }

    public var stage: ChallengeStage
    public var due: Date?

    public init(stage: ChallengeStage, due: Date?) {
        self.stage = stage
        self.due = due
    }

    /// The challenge moves to `record`'s stage; `limits` gives each stage's time in working days.
    public mutating func apply(
        _ record: ChallengeStageRecord, limits: ChallengeLimits, calendar: WorkingCalendar
    ) throws -> [Effect] {
        guard stage != .resolved else {
            throw Refused(reason: "challengeResolved", description: "the challenge was resolved already")
        }
        guard stage.next.contains(record.stage) else {
            throw Refused(
                reason: "stageOutOfOrder",
                description: "a challenge \(stage.words) cannot go back to '\(record.stage.rawValue)'")
        }
        stage = record.stage
        if stage == .resolved {
            due = nil
            return [.stopClock, .tellRaiser]
        }
        let until = limits.due(of: stage, from: record.at, calendar: calendar)
        due = until
        return [.startClock(due: until), .tellRaiser]
    }
}

/// How many working days each stage of a challenge may take (configuration: `challenges.stageDays`).
public struct ChallengeLimits: Sendable, Equatable {
    public var days: [ChallengeStage: Int]

    public static let protocolDefaults: [ChallengeStage: Int] = [
        .raised: 2, .discussedAtMASH: 3, .withAreaManager: 5, .withSeniorStaff: 10, .atOperationGroup: 20,
    ]

    public init(days: [ChallengeStage: Int] = Self.protocolDefaults) { self.days = days }

    /// The stage's deadline: the same time of day, `days` working days after `start` (out of hours, from the
    /// next opening).
    public func due(of stage: ChallengeStage, from start: Date, calendar: WorkingCalendar) -> Date {
        var due = start
        for _ in 0..<max(1, days[stage] ?? 1) { due = calendar.sameTimeNextWorkingDay(after: due) }
        return due
    }
}
