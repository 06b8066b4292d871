import AMQP
import Foundation
import MASHConfig
import MASHCore
import Sealing

/// What a member of staff may do with an item on a desk.
public enum DeskAction: String, Sendable, CaseIterable {
    /// Record the decision on a decision package (`mash.decision/1` to the hub).
    case decide
    /// Acknowledge an Encompass notice (`mash.encompass-acknowledgement/1` to the hub), or mark any other item
    /// seen and dealt with on this desk (an SLA alert, a DAN referral): recorded here, nothing sent.
    case acknowledge
    /// Record the triage outcome of a DAN on the triage list (`mash.triage-outcome/1` to the hub).
    case triage
    /// Record the offer of a return interview, or the interview itself, on a found child
    /// (`mash.return-interview/1` to the hub).
    case interview
    /// Screen a professional's contact (`mash.screening/1` to the hub); staff need the `spa` role.
    case screen
    /// Record a no-name consultation (`mash.consultation/1` to the hub); staff need the `spa` role.
    case consult
    /// Send contacts to the SPA from the referral form (`mash.contact/1`), and ask for a consultation's summary
    /// to be corrected: the portal's staff are the professionals themselves.
    case refer
    /// Record a MASH meeting from its list: who attended and what was agreed per item (`mash.meeting-record/1`).
    case meet
    /// Challenge the decision on an outcome, in writing (`mash.challenge/1`).
    case challenge
    /// Record that a challenge was discussed at the MASH meeting (`mash.challenge-stage/1`, the Practice
    /// Manager's part of the dispute route).
    case discuss
    /// Move a challenge on: to the Area Manager, senior staff, the Operation Group, or resolved
    /// (`mash.challenge-stage/1`); staff need the `area-manager` role.
    case stage
}

/// What a member of staff is at a desk, beyond signing in: the actions that need it refuse anyone without it.
public enum DeskRole: String, Sendable, CaseIterable {
    /// A Referral and Information Officer, a social worker or the Practice Manager of the Single Point of Access:
    /// screens contacts and records no-name consultations.
    case spa
    /// The First Response Area Manager: moves challenges to decisions along the dispute route.
    case areaManager = "area-manager"

    /// The actions only this role may take.
    public var actions: Set<DeskAction> {
        switch self {
        case .spa: [.screen, .consult]
        case .areaManager: [.stage]
        }
    }

    /// The role an action needs, if any.
    public static func needed(for action: DeskAction) -> DeskRole? {
        allCases.first { $0.actions.contains(action) }
    }
}

/// The No-Name Consultation Service's hours (`consultations:` on the SPA's desk): its own daily hours on the
/// working calendar's days, bank holidays excluded.
public struct ConsultationHours: Sendable {
    public var calendar: WorkingCalendar

    public init(calendar: WorkingCalendar) { self.calendar = calendar }

    /// 09:30–12:30, Monday to Friday, Europe/London.
    public static func standard(holidays: Set<LocalDate>) -> ConsultationHours {
        let hours = WorkingCalendar.Hours(opens: TimeOfDay(9, 30), closes: TimeOfDay(12, 30))
        return ConsultationHours(
            calendar: WorkingCalendar(
                timeZone: TimeZone(identifier: "Europe/London")!,
                hours: [1: hours, 2: hours, 3: hours, 4: hours, 5: hours],
                holidays: holidays))
    }
}

/// A member of staff who may sign in to a desk.
public struct StaffAccount: Sendable, Equatable {
    public var id: String
    public var name: String
    /// bcrypt (`$2b$…`), made by `mash-desk user add`.
    public var passwordHash: String
    public var roles: Set<DeskRole>
    /// On the portal: the professional's organisation (a school, a GP practice) and job title, which their
    /// contacts carry.
    public var organisation: String?
    public var jobTitle: String?

    public init(
        id: String, name: String, passwordHash: String, roles: Set<DeskRole> = [], organisation: String? = nil,
        jobTitle: String? = nil
    ) {
        self.id = id
        self.name = name
        self.passwordHash = passwordHash
        self.roles = roles
        self.organisation = organisation
        self.jobTitle = jobTitle
    }

    public func may(_ action: DeskAction) -> Bool {
        DeskRole.needed(for: action).map(roles.contains) ?? true
    }
}

/// `Config/desks/<party>.yaml`: one party's desk, so a new school or a new desk is a file. Read as strictly as
/// the agencies' files: an unknown key is an error naming the file, line and key, and the keys and TLS files
/// are checked at load.
public struct DeskConfiguration: Sendable {
    public var file: String
    public var party: String
    public var name: String
    public var broker: BrokerSettings
    public var queue: String
    /// `<keys>/<party>/` holds the party's key pairs (and its data-at-rest key); `<keys>/<hub>/` the hub's.
    public var keysDirectory: String
    public var hub: String
    public var store: String
    /// The key store of each record's own data key (`keyStore:`); nil: `<store>.keys.sqlite` beside the store.
    public var keyStore: String?
    /// The retention schedule (`retention:`, normally `../retention.yaml`); nil purges nothing.
    public var retention: RetentionSchedule?
    /// The desk's own access log: one JSON line per sign-in, view and action (who, when, which item).
    public var accessLog: String
    /// The document types the desk shows; a message of any other type is refused (dead-lettered).
    public var shows: [DocumentType]
    public var actions: Set<DeskAction>
    public var listen: String
    public var port: Int
    public var certificate: String
    public var privateKey: String
    public var lockoutAfter: Int
    public var lockoutFor: TimeInterval
    public var sessionIdle: TimeInterval
    public var staff: [StaffAccount]
    /// The local port serving `/metrics` and `/health` (0 picks a free one); nil serves neither.
    public var operationsPort: Int?
    /// How often the desk tells the hub it is running (`heartbeat: 30s`): the hub lists a desk never heard from.
    public var heartbeatEvery: TimeInterval
    /// Who the Missing and Exploitation Panel's list holds (`panel: {episodes: 3, within: 90d}`), on a desk that
    /// shows missing notices.
    public var panel = PanelRule()
    /// The No-Name Consultation Service's hours, on a desk that records consultations.
    public var consultationHours: ConsultationHours?

    public static func load(file path: String) throws -> DeskConfiguration {
        try DeskConfiguration(top: try ConfigMapping.load(file: path))
    }

    public init(yaml: String, file: String) throws {
        try self.init(top: try ConfigMapping.document(yaml: yaml, file: file))
    }

    init(top root: ConfigMapping) throws {
        var top = root
        file = top.file
        party = try top.string("party")
        guard PartyName.isValid(party) else {
            throw top.error("party", "'\(party)' must be lower-case letters, digits and '-'")
        }
        name = try top.optionalString("name") ?? party
        var brokerSection = try top.mapping("broker")
        broker = try BrokerSettings(&brokerSection)
        queue = try brokerSection.string("queue")
        try brokerSection.finish()
        keysDirectory = try top.path("keys")
        hub = try top.optionalString("hub") ?? "coordinator"
        store = try top.path("store")
        (keyStore, retention) = try top.retentionSettings()
        accessLog = try top.path("accessLog")
        shows = try top.strings("shows").enumerated().map { index, text in
            guard let type = DocumentType(rawValue: text) else {
                throw top.error("shows[\(index)]", "'\(text)' is not a document type (for example mash.outcome/1)")
            }
            return type
        }
        actions = Set(
            try (top.optionalStrings("actions") ?? []).enumerated().map { index, text in
                guard let action = DeskAction(rawValue: text) else {
                    throw top.error(
                        "actions[\(index)]",
                        "'\(text)' is not an action: \(DeskAction.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return action
            })
        if actions.contains(.decide), !shows.contains(.decisionPackage) {
            throw top.error("actions", "decide needs mash.decision-package/1 in shows")
        }
        if actions.contains(.triage), !shows.contains(.danTriage) {
            throw top.error("actions", "triage needs mash.dan-triage/1 in shows")
        }
        if actions.contains(.interview), !shows.contains(.missingNotice) {
            throw top.error("actions", "interview needs mash.missing-notice/1 in shows")
        }
        if actions.contains(.screen), !shows.contains(.contact) {
            throw top.error("actions", "screen needs mash.contact/1 in shows")
        }
        for (action, type) in [
            (DeskAction.meet, DocumentType.meetingAgenda), (.stage, .challenge), (.discuss, .challenge),
        ]
        where actions.contains(action) && !shows.contains(type) {
            throw top.error("actions", "\(action.rawValue) needs \(type.rawValue) in shows")
        }
        if actions.contains(.challenge), !shows.contains(.outcome), !shows.contains(.contactOutcome) {
            throw top.error("actions", "challenge needs mash.outcome/1 (or a portal's mash.contact-outcome/1) in shows")
        }
        if actions.contains(.refer), !shows.contains(.contactOutcome) {
            throw top.error("actions", "refer needs mash.contact-outcome/1 in shows")
        }
        if var section = try top.optionalMapping("consultations") {
            let holidaysFile = try section.path("holidays")
            let holidays: Set<LocalDate>
            do {
                holidays = try BankHolidays.englandAndWales(file: holidaysFile)
            } catch {
                throw section.error("holidays", "cannot read \(holidaysFile): \(error)")
            }
            var hours = ConsultationHours.standard(holidays: holidays)
            if let text = try section.optionalString("hours") {
                guard let (opens, closes) = Self.hours(text) else {
                    throw section.error("hours", "'\(text)' is not opening hours such as 09:30-12:30")
                }
                let day = WorkingCalendar.Hours(opens: opens, closes: closes)
                hours = ConsultationHours(
                    calendar: WorkingCalendar(
                        timeZone: hours.calendar.timeZone, hours: [1: day, 2: day, 3: day, 4: day, 5: day],
                        holidays: holidays))
            }
            try section.finish()
            consultationHours = hours
        } else if actions.contains(.consult) {
            throw top.error("consultations", "is required with the consult action (the service's hours)")
        }
        if var section = try top.optionalMapping("panel") {
            let episodes = try section.optionalInt("episodes") ?? 3
            guard episodes >= 1 else { throw section.error("episodes", "must be 1 or more") }
            let within =
                try section.optionalString("within").map { try section.duration($0, key: "within") } ?? 90 * 86400
            try section.finish()
            panel = PanelRule(episodes: episodes, within: within)
        }

        var web = try top.mapping("web")
        listen = try web.optionalString("listen") ?? "127.0.0.1"
        port = try web.optionalInt("port") ?? 8443
        guard (0...65535).contains(port) else { throw web.error("port", "must be 0 to 65535") }
        certificate = try web.path("certificate")
        privateKey = try web.path("key")
        for (key, path) in [("certificate", certificate), ("key", privateKey)]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw web.error(key, "cannot read \(path) (deploy/tls/mash-ca.sh server DIR desk HOST issues one)")
        }
        lockoutAfter = try web.optionalInt("lockoutAfter") ?? 5
        guard lockoutAfter > 0 else { throw web.error("lockoutAfter", "must be at least 1") }
        lockoutFor = try web.duration(try web.optionalString("lockoutFor") ?? "15m", key: "lockoutFor")
        sessionIdle = try web.duration(try web.optionalString("sessionIdle") ?? "30m", key: "sessionIdle")
        try web.finish()

        var seen = Set<String>()
        staff = []
        if top.has("staff") {
            for var entry in try top.mappings("staff") {
                let id = try entry.string("id")
                guard Self.isStaffID(id) else {
                    throw entry.error("id", "'\(id)' must be letters, digits, '.', '-' or '_'")
                }
                guard seen.insert(id).inserted else { throw entry.error("id", "'\(id)' is listed twice") }
                let hash = try entry.string("passwordHash")
                guard hash.hasPrefix("$2"), hash.count == 60 else {
                    throw entry.error("passwordHash", "is not a bcrypt hash: make one with mash-desk user add")
                }
                let name = try entry.string("name")
                var roles: Set<DeskRole> = []
                for text in try entry.optionalStrings("roles") ?? [] {
                    guard let role = DeskRole(rawValue: text) else {
                        throw entry.error(
                            "roles",
                            "'\(text)' is not a role: \(DeskRole.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    roles.insert(role)
                }
                staff.append(
                    StaffAccount(
                        id: id, name: name, passwordHash: hash, roles: roles,
                        organisation: try entry.optionalString("organisation"),
                        jobTitle: try entry.optionalString("jobTitle")))
                if actions.contains(.refer), staff.last?.organisation == nil || staff.last?.jobTitle == nil {
                    throw entry.error(
                        "organisation", "and jobTitle are required on a portal: a contact says who made it")
                }
                try entry.finish()
            }
        }
        operationsPort = try top.optionalInt("operationsPort")
        heartbeatEvery = try top.optionalString("heartbeat").map { try top.duration($0, key: "heartbeat") } ?? 30
        try top.finish()
        do {
            _ = try KeyDirectory.keyPairs(agency: party, in: keysDirectory)
            _ = try KeyDirectory.newestPublicKey(agency: hub, in: keysDirectory)
        } catch let error as SealingError {
            throw ConfigurationError(file: file, line: nil, key: "keys", problem: error.message)
        }
    }

    /// `HH:MM-HH:MM`.
    static func hours(_ text: String) -> (TimeOfDay, TimeOfDay)? {
        let parts = text.split(separator: "-").map { $0.split(separator: ":").compactMap { Int($0) } }
        guard parts.count == 2,
            parts.allSatisfy({ $0.count == 2 && (0..<24).contains($0[0]) && (0..<60).contains($0[1]) })
        else { return nil }
        let (opens, closes) = (TimeOfDay(parts[0][0], parts[0][1]), TimeOfDay(parts[1][0], parts[1][1]))
        return opens < closes ? (opens, closes) : nil
    }

    public static func isStaffID(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
    }

    public func brokerURL(override: String?) throws -> AMQPURL { try broker.amqpURL(override: override) }

    /// Where its staff open the desk.
    public func url(port: Int) -> String {
        "https://\(listen == "0.0.0.0" || listen == "127.0.0.1" ? "localhost" : listen):\(port)/"
    }
}
