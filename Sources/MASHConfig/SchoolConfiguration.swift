import Foundation
import MASHCore

/// `Config/schools/<urn>.yaml`: one school's Operation Encompass contact and calendar, and how its roll's
/// joiners are judged.
public struct SchoolConfiguration: Sendable {
    public var urn: String
    public var name: String
    /// The party whose public key seals the school's notices (its key directory name).
    public var recipient: String
    /// The queue the school's key adult reads notices from.
    public var noticeQueue: String
    public var calendar: SchoolCalendar
    public var rollPolicy: RollPolicy
    /// Days within which the next roll feed is due (`rollFeedEveryDays`, 7 by default; 0 expects none): a feed
    /// older than this is overdue (`mashctl status`, `mash_roll_feed_overdue`).
    public var rollFeedEveryDays: Int

    /// Every `<urn>.yaml` in `directory`, by URN; a missing directory is no schools.
    public static func loadDirectory(_ directory: String, bankHolidays: Set<LocalDate>) throws
        -> [String: SchoolConfiguration]
    {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var schools: [String: SchoolConfiguration] = [:]
        for name in names.sorted() where name.hasSuffix(".yaml") {
            let path = (directory as NSString).appendingPathComponent(name)
            let school = try SchoolConfiguration(
                yaml: String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self),
                file: path, bankHolidays: bankHolidays)
            guard name == "\(school.urn).yaml" else {
                throw ConfigurationError(
                    file: path, line: nil, key: "urn", problem: "'\(school.urn)' must match the file name (\(name))")
            }
            schools[school.urn] = school
        }
        return schools
    }

    public init(yaml: String, file: String, bankHolidays: Set<LocalDate>) throws {
        var top = try ConfigMapping.document(yaml: yaml, file: file)
        urn = try top.string("urn")
        guard urn.count == 6, urn.allSatisfy(\.isNumber) else {
            throw top.error("urn", "must be the school's 6-digit URN")
        }
        name = try top.string("name")
        recipient = try top.optionalString("recipient") ?? "school-\(urn)"
        noticeQueue = try top.optionalString("noticeQueue") ?? "school.\(urn).encompass"
        let startText = try top.string("dayStarts")
        guard let dayStarts = Self.time(startText) else { throw top.error("dayStarts", "'\(startText)' is not HH:MM") }
        var terms: [SchoolCalendar.Term] = []
        for (index, var term) in try top.mappings("terms").enumerated() {
            let first = try Self.date(&term, "first")
            let last = try Self.date(&term, "last")
            guard first <= last else { throw term.error("last", "is before first (term \(index + 1))") }
            try term.finish()
            terms.append(.init(first: first, last: last))
        }
        guard !terms.isEmpty else { throw top.error("terms", "at least one term is needed") }
        var inset: Set<LocalDate> = []
        for (index, text) in (try top.optionalStrings("insetDays") ?? []).enumerated() {
            guard let date = LocalDate(text) else {
                throw top.error("insetDays[\(index)]", "'\(text)' is not YYYY-MM-DD")
            }
            inset.insert(date)
        }
        calendar = SchoolCalendar(terms: terms, insetDays: inset, dayStarts: dayStarts, bankHolidays: bankHolidays)
        rollPolicy = RollPolicy(
            firstYearGroup: try top.optionalString("firstYearGroup")?.uppercased(),
            exemptFirstYearStarters: try top.optionalBool("exemptFirstYearStarters") ?? true,
            returnWithinDays: try top.optionalInt("returnWithinDays") ?? 5)
        rollFeedEveryDays = try top.optionalInt("rollFeedEveryDays") ?? 7
        guard (0...366).contains(rollFeedEveryDays) else {
            throw top.error("rollFeedEveryDays", "must be a number of days from 0 (no feed expected) to 366")
        }
        try top.finish()
    }

    static func date(_ mapping: inout ConfigMapping, _ key: String) throws -> LocalDate {
        let text = try mapping.string(key)
        guard let date = LocalDate(text) else { throw mapping.error(key, "'\(text)' is not YYYY-MM-DD") }
        return date
    }

    static func time(_ text: String) -> TimeOfDay? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour),
            (0..<60).contains(minute)
        else { return nil }
        return TimeOfDay(hour, minute)
    }
}

/// The `notifications` section of routing.yaml: who may send DANs, rolls and open-case updates, who receives
/// what the police and school flows cause, and when the daily DAN triage meets.
public struct NotificationRouting: Sendable {
    public var danSenders: Set<String> = ["police"]
    public var openCaseSenders: Set<String> = ["csc"]
    public var rollSenders: Set<String> = ["orchestra"]
    public var triage = TriageSchedule(time: TimeOfDay(10, 0))
    /// Gets a copy of every DAN.
    public var probation = "probation"
    /// The CSC case system, where significant contacts reach the allocated social worker.
    public var socialCare = "csc"
    /// The local authority's Operation Encompass officer, for children on no school roll.
    public var laOfficer = "la-officer"
    /// Receives each roll's returns (deletions, new pupils, flags).
    public var education = "education"
    /// The data protection officer's party, alerted (on `mash.alerts`) as a breach's 72-hour clock runs down.
    public var dpo: String?

    public init() {}

    init(_ mapping: inout ConfigMapping) throws {
        danSenders = Set(try mapping.optionalStrings("danSenders") ?? Array(danSenders))
        openCaseSenders = Set(try mapping.optionalStrings("openCaseSenders") ?? Array(openCaseSenders))
        rollSenders = Set(try mapping.optionalStrings("rollSenders") ?? Array(rollSenders))
        if mapping.has("operatorSenders") {
            throw mapping.error(
                "operatorSenders", "is gone: staff act as themselves, with the roles of Config/staff.yaml")
        }
        if let text = try mapping.optionalString("triageAt") {
            guard let time = SchoolConfiguration.time(text) else {
                throw mapping.error("triageAt", "'\(text)' is not HH:MM")
            }
            triage = TriageSchedule(time: time)
        }
        probation = try mapping.optionalString("probation") ?? probation
        socialCare = try mapping.optionalString("socialCare") ?? socialCare
        laOfficer = try mapping.optionalString("laOfficer") ?? laOfficer
        education = try mapping.optionalString("education") ?? education
        dpo = try mapping.optionalString("dpo")
        try mapping.finish()
    }
}
