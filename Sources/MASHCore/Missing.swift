import Foundation

/// Missing from home and care (DESIGN.md flow 6): the police's missing and found reports, and the return
/// interview every child is offered within 72 hours of coming back (DfE statutory guidance, 2014).
public enum MissingFrom: String, Sendable, CaseIterable {
    case home, care
}

/// The police's grading of a missing person report (College of Policing, 2023).
public enum PoliceRisk: String, Sendable, CaseIterable, Comparable {
    case noApparentRisk = "no-apparent-risk"
    case low, medium, high

    public static func < (a: PoliceRisk, b: PoliceRisk) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What the police or a return interview found the child at risk of.
public enum ExploitationFlag: String, Sendable, CaseIterable {
    /// Child sexual exploitation.
    case sexual = "cse"
    /// Child criminal exploitation.
    case criminal = "cce"
    case countyLines = "county-lines"
    case trafficking
    case online
    case gangs
}

/// A placing authority's party name: `la-` and the authority's code (letters, digits, hyphens).
public enum AuthorityName {
    public static func isValid(_ name: String) -> Bool {
        name.hasPrefix("la-") && name.count > 3
            && name.dropFirst(3).allSatisfy { ($0.isLetter && $0.isLowercase) || $0.isNumber || $0 == "-" }
            && name.first != "-"
    }
}

/// `mash.missing-report/1`: the police report a child missing.
public struct MissingReport: Sendable, Equatable {
    /// The episode's id, chosen by the police (their report number or a UUID); the found report names it too.
    public var episodeID: String
    public var policeReference: String
    /// Forename, surname and date of birth (required), and any of the identifiers the police hold.
    public var child: Person
    public var missingFrom: MissingFrom
    /// The home address, or the placement (children's home, foster carer), the child went missing from.
    public var place: String
    public var reportedAt: Date
    public var lastSeenAt: Date?
    public var risk: PoliceRisk
    public var exploitation: [ExploitationFlag]
    /// The authority that placed a looked-after child here (`la-<code>`), when the police know it.
    public var placingAuthority: String?
    public var circumstances: String?

    public init(
        episodeID: String, policeReference: String, child: Person, missingFrom: MissingFrom, place: String,
        reportedAt: Date, lastSeenAt: Date? = nil, risk: PoliceRisk, exploitation: [ExploitationFlag] = [],
        placingAuthority: String? = nil, circumstances: String? = nil
    ) {
        self.episodeID = episodeID
        self.policeReference = policeReference
        self.child = child
        self.missingFrom = missingFrom
        self.place = place
        self.reportedAt = reportedAt
        self.lastSeenAt = lastSeenAt
        self.risk = risk
        self.exploitation = exploitation
        self.placingAuthority = placingAuthority
        self.circumstances = circumstances
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.missingReport)
        episodeID = try reader.identifier("episodeID")
        policeReference = try reader.string("policeReference")
        var person = try reader.object("child")
        child = try Person(reading: &person)
        for (field, value) in [("forename", child.forename), ("surname", child.surname)] where value == nil {
            throw person.error(field, "is required")
        }
        guard child.dateOfBirth != nil else { throw person.error("dateOfBirth", "is required") }
        guard child.role == nil else { throw person.error("role", "is not given for the missing child") }
        try person.finish()
        missingFrom = try reader.enum("missingFrom", MissingFrom.self)
        place = try reader.string("place")
        reportedAt = try reader.pastInstant("reportedAt")
        lastSeenAt = try reader.optionalInstant("lastSeenAt")
        if let lastSeenAt, lastSeenAt > reportedAt {
            throw reader.error("lastSeenAt", "is after reportedAt: a child is last seen before being reported missing")
        }
        risk = try reader.enum("risk", PoliceRisk.self)
        exploitation = try Self.flags(&reader, "exploitation")
        placingAuthority = try reader.optionalString("placingAuthority")
        if let placingAuthority, !AuthorityName.isValid(placingAuthority) {
            throw reader.error(
                "placingAuthority", "must be 'la-' and the authority's code in lower case (la-kent, la-886)")
        }
        circumstances = try reader.optionalString("circumstances")
        try reader.finish()
    }

    static func flags(_ reader: inout DocumentReader, _ key: String) throws -> [ExploitationFlag] {
        try codes(&reader, key, ExploitationFlag.self)
    }

    /// An array of codes of `E`, each once, in the order given; an unknown one names its index.
    static func codes<E: RawRepresentable & CaseIterable & Equatable>(
        _ reader: inout DocumentReader, _ key: String, _ type: E.Type
    ) throws -> [E] where E.RawValue == String {
        var codes: [E] = []
        for (index, text) in try reader.strings(key).enumerated() {
            guard let code = E(rawValue: text) else {
                let allowed = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                throw reader.error("\(key)[\(index)]", "'\(text)' is not one of \(allowed)")
            }
            if !codes.contains(code) { codes.append(code) }
        }
        return codes
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.missingReport.rawValue, "episodeID": episodeID, "policeReference": policeReference,
            "child": child.json, "missingFrom": missingFrom.rawValue, "place": place,
            "reportedAt": Instant.format(reportedAt), "risk": risk.rawValue,
        ]
        object["lastSeenAt"] = lastSeenAt.map(Instant.format)
        if !exploitation.isEmpty { object["exploitation"] = exploitation.map(\.rawValue) }
        object["placingAuthority"] = placingAuthority
        object["circumstances"] = circumstances
        return DocumentWriter.encode(object)
    }
}

/// `mash.found-report/1`: the police found the child (or the child came back).
public struct FoundReport: Sendable, Equatable {
    public var episodeID: String
    public var foundAt: Date
    /// Where the child was found, in the officer's words.
    public var foundWhere: String
    /// The police's safe and well check: whether it was done, by whom and when.
    public var safeAndWellDone: Bool
    public var safeAndWellBy: String?
    public var safeAndWellAt: Date?
    /// Anything the child disclosed to the officer.
    public var disclosures: String?

    public init(
        episodeID: String, foundAt: Date, foundWhere: String, safeAndWellDone: Bool, safeAndWellBy: String? = nil,
        safeAndWellAt: Date? = nil, disclosures: String? = nil
    ) {
        self.episodeID = episodeID
        self.foundAt = foundAt
        self.foundWhere = foundWhere
        self.safeAndWellDone = safeAndWellDone
        self.safeAndWellBy = safeAndWellBy
        self.safeAndWellAt = safeAndWellAt
        self.disclosures = disclosures
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.foundReport)
        episodeID = try reader.identifier("episodeID")
        foundAt = try reader.pastInstant("foundAt")
        foundWhere = try reader.string("foundWhere")
        var check = try reader.object("safeAndWell")
        guard let done = try check.optionalBool("done") else { throw check.error("done", "is required") }
        safeAndWellDone = done
        safeAndWellBy = try check.optionalString("by")
        safeAndWellAt = try check.optionalInstant("at")
        if done {
            guard safeAndWellBy?.isEmpty == false else {
                throw check.error("by", "is required when the check was done (the officer's name or collar number)")
            }
            guard let at = safeAndWellAt else { throw check.error("at", "is required when the check was done") }
            guard at >= foundAt else { throw check.error("at", "is before foundAt") }
        } else if safeAndWellBy != nil || safeAndWellAt != nil {
            throw check.error(safeAndWellBy != nil ? "by" : "at", "is given only when the check was done")
        }
        try check.finish()
        disclosures = try reader.optionalString("disclosures")
        try reader.finish()
    }

    public var json: [UInt8] {
        var check: [String: Any] = ["done": safeAndWellDone]
        check["by"] = safeAndWellBy
        check["at"] = safeAndWellAt.map(Instant.format)
        var object: [String: Any] = [
            "schema": DocumentType.foundReport.rawValue, "episodeID": episodeID, "foundAt": Instant.format(foundAt),
            "foundWhere": foundWhere, "safeAndWell": check,
        ]
        object["disclosures"] = disclosures
        return DocumentWriter.encode(object)
    }
}

/// `mash.return-interview/1`: the offer of a return interview and, once it is held, what was said and agreed.
/// Sent by the Missing and Exploitation Co-ordinator's desk, or by the placing authority for a child it placed.
public struct ReturnInterview: Sendable, Equatable {
    public enum Response: String, Sendable, CaseIterable {
        case accepted, declined
        case notReachable = "not-reachable"
    }

    /// What the interview touched on; `other` with the record's words for the rest.
    public enum Theme: String, Sendable, CaseIterable {
        case exploitation, family = "family-relationships", peers = "peer-relationships"
        case placement, education, substances = "substance-misuse", mentalHealth = "mental-health", online, other
    }

    public var episodeID: String
    public var offeredAt: Date
    /// The staff id (or name, from another authority) of who offered it.
    public var offeredBy: String
    /// Whether the interviewer is independent of the child's care (the guidance asks for it).
    public var independent: Bool
    public var response: Response
    /// When it was held; only for an accepted offer.
    public var heldAt: Date?
    public var themes: [Theme]
    public var exploitation: [ExploitationFlag]
    /// What was said and agreed (required once held).
    public var record: String?

    public init(
        episodeID: String, offeredAt: Date, offeredBy: String, independent: Bool, response: Response,
        heldAt: Date? = nil, themes: [Theme] = [], exploitation: [ExploitationFlag] = [], record: String? = nil
    ) {
        self.episodeID = episodeID
        self.offeredAt = offeredAt
        self.offeredBy = offeredBy
        self.independent = independent
        self.response = response
        self.heldAt = heldAt
        self.themes = themes
        self.exploitation = exploitation
        self.record = record
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.returnInterview)
        episodeID = try reader.identifier("episodeID")
        offeredAt = try reader.pastInstant("offeredAt")
        offeredBy = try reader.string("offeredBy")
        guard let independent = try reader.optionalBool("independent") else {
            throw reader.error("independent", "is required (true or false)")
        }
        self.independent = independent
        response = try reader.enum("response", Response.self)
        heldAt = try reader.optionalInstant("heldAt")
        if let heldAt {
            guard response == .accepted else { throw reader.error("heldAt", "is given only for an accepted offer") }
            guard heldAt.timeIntervalSince(now) <= DocumentReader.clockSkew else {
                throw reader.error("heldAt", "'\(Instant.format(heldAt))' is in the future")
            }
            guard heldAt >= offeredAt else { throw reader.error("heldAt", "is before offeredAt") }
        }
        themes = try MissingReport.codes(&reader, "themes", Theme.self)
        exploitation = try MissingReport.flags(&reader, "exploitation")
        record = try reader.optionalString("record")
        if heldAt != nil, record?.isEmpty != false {
            throw reader.error("record", "is required once the interview is held (what was said and agreed)")
        }
        if heldAt == nil, !themes.isEmpty {
            throw reader.error("themes", "are given only once the interview is held")
        }
        try reader.finish()
    }

    /// Whether this ends the return-interview clock: held, or an offer the child declined or could not be
    /// reached for. An accepted offer not yet held leaves it running.
    public var concludes: Bool { heldAt != nil || response != .accepted }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.returnInterview.rawValue, "episodeID": episodeID,
            "offeredAt": Instant.format(offeredAt), "offeredBy": offeredBy, "independent": independent,
            "response": response.rawValue,
        ]
        object["heldAt"] = heldAt.map(Instant.format)
        if !themes.isEmpty { object["themes"] = themes.map(\.rawValue) }
        if !exploitation.isEmpty { object["exploitation"] = exploitation.map(\.rawValue) }
        object["record"] = record
        return DocumentWriter.encode(object)
    }
}

/// One missing episode's life as a value: what each report and interview does to it, and what the coordinator
/// must then do, in the same transaction. The routing rules are tested here without a broker or a store.
public struct MissingEpisode: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Reported missing, not yet found.
        case missing
        /// Found (or back); the return interview is due.
        case found
        /// The return interview was held, declined, or the child could not be reached.
        case concluded
    }

    /// A document the episode's people should see.
    public enum Report: String, Sendable, Equatable {
        case missing, found, interview
    }

    public enum Effect: Sendable, Equatable {
        /// On the daily review (the Missing and Exploitation Co-ordinator's desk).
        case review(Report)
        /// To the child's allocated social worker (the open-case register).
        case socialWorker(Report)
        /// A high-risk missing child: to the Practice Manager at once.
        case alertHighRisk
        /// A copy to the authority that placed the child.
        case copyToAuthority(Report, authority: String)
        /// Ask the placing authority for its return interview, and chase until it comes.
        case requestInterview(authority: String)
        /// The return-interview clock starts at `foundAt` and runs out at `due`.
        case startClock(due: Date)
        /// The interview concluded: the clock and any chase stop.
        case stopClock
        /// Keep the document (a found report ahead of its missing report; an interview).
        case store(Report)
        /// Already had: change nothing.
        case ignore(String)
    }

    public struct Refusal: Error, Sendable, Equatable {
        public var reason: String
        public var detail: String
    }

    public var state: State
    /// Whether the missing report has come (a found report can come first).
    public var reported: Bool
    public var foundAt: Date?
    public var placingAuthority: String?
    public var openCase: Bool

    public init(
        state: State, reported: Bool, foundAt: Date? = nil, placingAuthority: String? = nil, openCase: Bool = false
    ) {
        self.state = state
        self.reported = reported
        self.foundAt = foundAt
        self.placingAuthority = placingAuthority
        self.openCase = openCase
    }

    /// The missing report: a new episode, or the report a found report was waiting for.
    public static func missing(
        _ report: MissingReport, existing: MissingEpisode?, openCase: Bool, placingAuthority: String?,
        interviewWithin: TimeInterval
    ) -> (MissingEpisode, [Effect]) {
        if let existing, existing.reported { return (existing, [.ignore("a missing report for this episode came")]) }
        var episode = existing ?? MissingEpisode(state: .missing, reported: true)
        episode.reported = true
        episode.openCase = openCase
        episode.placingAuthority = placingAuthority
        var effects: [Effect] = [.store(.missing), .review(.missing)]
        if openCase { effects.append(.socialWorker(.missing)) }
        if report.risk == .high, episode.state == .missing { effects.append(.alertHighRisk) }
        if let placingAuthority { effects.append(.copyToAuthority(.missing, authority: placingAuthority)) }
        if existing != nil, episode.state != .missing {
            // The found report came first and waited for the child to be known: it goes on now.
            if openCase { effects.append(.socialWorker(.found)) }
            if let placingAuthority {
                effects += [
                    .copyToAuthority(.found, authority: placingAuthority),
                    .requestInterview(authority: placingAuthority),
                ]
            }
        }
        return (episode, effects)
    }

    /// The found report. Before its missing report it still starts the clock (the child is back whatever the
    /// paperwork), and waits for the missing report to say who the child is.
    public static func found(_ report: FoundReport, existing: MissingEpisode?, interviewWithin: TimeInterval)
        -> (MissingEpisode, [Effect])
    {
        if let existing, existing.state != .missing {
            return (existing, [.ignore("a found report for this episode came")])
        }
        var episode = existing ?? MissingEpisode(state: .found, reported: false)
        episode.state = .found
        episode.foundAt = report.foundAt
        var effects: [Effect] = [
            .store(.found), .startClock(due: report.foundAt.addingTimeInterval(interviewWithin)), .review(.found),
        ]
        if episode.reported {
            if episode.openCase { effects.append(.socialWorker(.found)) }
            if let authority = episode.placingAuthority {
                effects += [.copyToAuthority(.found, authority: authority), .requestInterview(authority: authority)]
            }
        }
        return (episode, effects)
    }

    /// A return interview (its offer, or the interview itself) from `sender`: the co-ordinator, or the
    /// episode's placing authority.
    public static func interview(
        _ interview: ReturnInterview, existing: MissingEpisode?, from sender: String, coordinator: String
    ) -> Result<(MissingEpisode, [Effect]), Refusal> {
        guard var episode = existing else {
            return .failure(Refusal(reason: "unknownEpisode", detail: "no missing episode \(interview.episodeID)"))
        }
        guard sender == coordinator || sender == episode.placingAuthority else {
            return .failure(
                Refusal(
                    reason: "senderNotAllowed",
                    detail: "'\(sender)' may not record a return interview for episode \(interview.episodeID)"))
        }
        guard episode.state != .missing, let foundAt = episode.foundAt else {
            return .failure(
                Refusal(
                    reason: "notReturned",
                    detail: "episode \(interview.episodeID) has no found report: an interview follows a return"))
        }
        guard interview.offeredAt >= foundAt.addingTimeInterval(-300) else {
            return .failure(
                Refusal(reason: "invalidDocument", detail: "offeredAt is before the episode's foundAt"))
        }
        var effects: [Effect] = [.store(.interview)]
        if sender != coordinator { effects.append(.review(.interview)) }
        if episode.state == .found, interview.concludes {
            episode.state = .concluded
            effects.append(.stopClock)
        }
        return .success((episode, effects))
    }
}

/// Who goes on the Missing and Exploitation Panel's list: three or more episodes in 90 days, or any
/// exploitation flag (thresholds in configuration).
public struct PanelRule: Sendable, Equatable {
    public var episodes: Int
    public var within: TimeInterval

    public init(episodes: Int = 3, within: TimeInterval = 90 * 86400) {
        self.episodes = episodes
        self.within = within
    }

    /// Whether a child with episodes reported at `reportedAt` and these flags is on the list on `now`.
    public func lists(reportedAt: [Date], flagged: Bool, now: Date) -> Bool {
        flagged || reportedAt.filter { now.timeIntervalSince($0) <= within }.count >= episodes
    }
}
