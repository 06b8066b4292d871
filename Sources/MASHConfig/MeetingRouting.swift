import Foundation
import MASHCore

/// The `meetings` section of routing.yaml: when the huddles and the MASH meetings are held, what a huddle
/// reviews, the monthly Midwifery Safeguarding Meeting, and who records them.
public struct MeetingRouting: Sendable {
    public var schedule = MeetingSchedule()
    /// Records meetings (`mash.meeting-record/1`): the Practice Manager's desk.
    public var recorders: Set<String> = ["practice-manager"]
    /// How long before a sitting its list goes to the Practice Manager (`agendaBefore`; `off`: never).
    public var agendaLead: TimeInterval? = 15 * 60
    /// How long after a MASH meeting starts its record is due at the hub (`recordWithin`); a meeting whose list
    /// was sent and whose record has not come by then is counted in `mash_meetings_unrecorded`.
    public var recordWithin: TimeInterval = 4 * 3600

    public init() {}

    init(_ mapping: inout ConfigMapping) throws {
        func time(_ key: String, _ fallback: TimeOfDay) throws -> TimeOfDay {
            guard let text = try mapping.optionalString(key) else { return fallback }
            guard let time = SchoolConfiguration.time(text) else { throw mapping.error(key, "'\(text)' is not HH:MM") }
            return time
        }
        var schedule = MeetingSchedule()
        schedule.spaHuddle = try time("spaHuddle", schedule.spaHuddle)
        schedule.mashHuddle = try time("mashHuddle", schedule.mashHuddle)
        schedule.huddleCutoff = try time("huddleCutoff", schedule.huddleCutoff)
        if let texts = try mapping.optionalStrings("mash") {
            schedule.mash = try texts.enumerated().map { index, text in
                guard let time = SchoolConfiguration.time(text) else {
                    throw mapping.error("mash[\(index)]", "'\(text)' is not HH:MM")
                }
                return time
            }
            .sorted()
            guard !schedule.mash.isEmpty else { throw mapping.error("mash", "needs at least one meeting time") }
        }
        if var monthly = try mapping.optionalMapping("midwifery") {
            let week = try monthly.optionalInt("week") ?? schedule.midwifery.week
            guard (1...4).contains(week) else { throw monthly.error("week", "must be 1 to 4 (the week of the month)") }
            let names = ["monday", "tuesday", "wednesday", "thursday", "friday"]
            var weekday = schedule.midwifery.weekday
            if let name = try monthly.optionalString("weekday") {
                guard let index = names.firstIndex(of: name.lowercased()) else {
                    throw monthly.error("weekday", "'\(name)' is not one of \(names.joined(separator: ", "))")
                }
                weekday = index + 1
            }
            var at = schedule.midwifery.time
            if let text = try monthly.optionalString("at") {
                guard let time = SchoolConfiguration.time(text) else {
                    throw monthly.error("at", "'\(text)' is not HH:MM")
                }
                at = time
            }
            try monthly.finish()
            schedule.midwifery = .init(week: week, weekday: weekday, time: at)
        }
        self.schedule = schedule
        recorders = Set(try mapping.optionalStrings("recorders") ?? Array(recorders))
        if let text = try mapping.optionalString("agendaBefore") {
            agendaLead = text == "off" ? nil : try mapping.duration(text, key: "agendaBefore")
        }
        if let text = try mapping.optionalString("recordWithin") {
            recordWithin = try mapping.duration(text, key: "recordWithin")
        }
        try mapping.finish()
    }
}

/// The `challenges` section of routing.yaml: the protocol's dispute route. Who hears challenges (the First
/// Response Area Manager's desk), who records their stages, which staff desks may raise one, and each stage's
/// time in working days.
public struct ChallengeRouting: Sendable {
    /// The First Response Area Manager's party: every challenge, and each stage's clock alert.
    public var areaManager = "area-manager"
    /// May send `mash.challenge-stage/1`: the Area Manager, and the Practice Manager for the MASH meeting's
    /// discussion.
    public var recorders: Set<String> = ["area-manager", "practice-manager"]
    /// Staff desks whose members may challenge a decision, besides the agencies that answered and the referrer.
    public var staff: Set<String> = ["practice-manager", "spa"]
    public var limits = ChallengeLimits()

    public init() {}

    init(_ mapping: inout ConfigMapping) throws {
        areaManager = try mapping.optionalString("areaManager") ?? areaManager
        recorders = Set(try mapping.optionalStrings("recorders") ?? Array(recorders))
        staff = Set(try mapping.optionalStrings("staff") ?? Array(staff))
        if var days = try mapping.optionalMapping("stageDays") {
            var limits = ChallengeLimits.protocolDefaults
            for key in days.keys {
                guard let stage = ChallengeStage(rawValue: key), stage != .resolved else {
                    let stages = ChallengeStage.allCases.filter { $0 != .resolved }.map(\.rawValue)
                    throw days.error(key, "is not a stage: one of \(stages.joined(separator: ", "))")
                }
                guard let count = try days.optionalInt(key), count >= 1 else {
                    throw days.error(key, "must be a whole number of working days, 1 or more")
                }
                limits[stage] = count
            }
            try days.finish()
            self.limits = ChallengeLimits(days: limits)
        }
        try mapping.finish()
    }
}
