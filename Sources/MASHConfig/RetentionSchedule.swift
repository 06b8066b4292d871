import Foundation
import MASHCore

/// `Config/retention.yaml`: how long each kind of record is kept, counted from which event, and why. The
/// coordinator, each adapter and each desk read the same file and purge what is theirs once a period is over.
public struct RetentionSchedule: Sendable, Equatable {
    /// The kinds of record the hub and its partners keep. Each is purged by the service that holds it.
    public enum Kind: String, Sendable, CaseIterable, Comparable, Codable {
        /// An enquiry, its research responses and its decision package: one data key, shredded together.
        case enquiries
        case dans
        case encompassNotices
        /// A school's roll in force and the record of each feed received.
        case rolls
        case openCases
        case operatorActions
        /// A desk's items (the package, a notice, a triage list) and the actions on them.
        case deskItems
        /// An adapter's sealed copy of each request, the answer it gave, and the outcome it was sent.
        case adapterCopies
        /// Message ids remembered so a redelivery has no second effect (never less than the acceptance window).
        case inboxIDs
        /// Who opened which item at a desk, and subject access searches.
        case viewLogs
        /// The record of sharing's pseudonymous entries (who, when, categories, basis, purpose).
        case recordOfSharing
        /// A missing episode: the police's missing and found reports and the return interview, one data key.
        case missingEpisodes
        /// A professional's contact from the portal, its screening and the feedback the referrer was sent.
        case contacts
        /// A no-name consultation's record (no child or family identified in it).
        case consultations

        public static func < (a: Kind, b: Kind) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }

        /// The events a period may be counted from for this kind.
        public var events: [Event] {
            switch self {
            case .enquiries: [.closure, .receipt]
            case .dans, .encompassNotices, .rolls, .operatorActions, .inboxIDs, .viewLogs, .recordOfSharing:
                [.receipt]
            case .openCases: [.lastUpdate]
            case .deskItems, .adapterCopies, .missingEpisodes, .contacts: [.closure, .receipt]
            case .consultations: [.receipt]
            }
        }

        /// Who purges this kind.
        public var holder: String {
            switch self {
            case .enquiries, .dans, .encompassNotices, .rolls, .openCases, .operatorActions, .recordOfSharing,
                .missingEpisodes, .contacts, .consultations:
                "coordinator"
            case .deskItems: "desks"
            case .adapterCopies: "adapters"
            case .inboxIDs, .viewLogs: "every service"
            }
        }
    }

    /// What a period is counted from.
    public enum Event: String, Sendable, CaseIterable {
        /// Decided, refused or withdrawn (an enquiry); done (a desk item); the outcome received (an adapter copy).
        case closure
        case receipt
        case lastUpdate = "last-update"
    }

    /// A calendar period: `72h`, `30d`, `6w`, `2y`. Days, weeks and years are calendar ones (UK time), so
    /// a two-year period ends on the same date two years on.
    public struct Period: Sendable, Equatable, CustomStringConvertible {
        public enum Unit: String, Sendable {
            case seconds = "s", minutes = "m", hours = "h", days = "d", weeks = "w", years = "y"
        }
        public var count: Int
        public var unit: Unit

        public init(count: Int, unit: Unit) {
            self.count = count
            self.unit = unit
        }

        public init?(_ text: String) {
            guard let last = text.last, let unit = Unit(rawValue: String(last)), let count = Int(text.dropLast()),
                count > 0
            else { return nil }
            self.init(count: count, unit: unit)
        }

        public var description: String { "\(count)\(unit.rawValue)" }

        /// When a record whose period starts at `start` is due to go.
        public func end(from start: Date) -> Date { shift(start, by: count) }

        /// The latest start whose period is over at `now`: records counted from before it are due.
        public func cutoff(at now: Date) -> Date { shift(now, by: -count) }

        private func shift(_ date: Date, by amount: Int) -> Date {
            switch unit {
            case .seconds: return date.addingTimeInterval(Double(amount))
            case .minutes: return date.addingTimeInterval(Double(amount) * 60)
            case .hours: return date.addingTimeInterval(Double(amount) * 3600)
            case .days, .weeks, .years:
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = TimeZone(identifier: "Europe/London")!
                let component: Calendar.Component = unit == .years ? .year : .day
                let days = unit == .weeks ? amount * 7 : amount
                return calendar.date(byAdding: component, value: days, to: date) ?? date
            }
        }

        /// Roughly how long, for comparing against a floor such as the inbox's acceptance window.
        var approximateSeconds: TimeInterval { end(from: Date(timeIntervalSince1970: 0)).timeIntervalSince1970 }
    }

    public struct Rule: Sendable, Equatable {
        public var kind: Kind
        public var period: Period
        public var from: Event
        public var reason: String
        /// The line in the file, for messages that point a DPO at the rule.
        public var line: Int?
    }

    public var rules: [Kind: Rule]
    /// How often each service looks for what is due (a day by default).
    public var interval: TimeInterval
    /// Who approved the periods, and when; nil while the shipped placeholders are in force.
    public var approval: String?
    public var file: String

    /// The inbox must remember a message id for at least as long as a message is accepted (`iat` window).
    public static let acceptanceWindow: TimeInterval = 72 * 3600

    public func rule(_ kind: Kind) -> Rule { rules[kind]! }

    public static func load(file: String) throws -> RetentionSchedule {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigurationError(file: file, line: nil, key: "", problem: "cannot read the retention schedule")
        }
        return try RetentionSchedule(yaml: String(decoding: data, as: UTF8.self), file: file)
    }

    public init(yaml: String, file: String) throws {
        self.file = file
        var top = try ConfigMapping.document(yaml: yaml, file: file)
        interval = try top.optionalString("interval").map { try top.duration($0, key: "interval") } ?? 24 * 3600
        if var approved = try top.optionalMapping("approved") {
            let by = try approved.string("by")
            let on = try approved.string("on")
            guard LocalDate(on) != nil else { throw approved.error("on", "'\(on)' is not YYYY-MM-DD") }
            try approved.finish()
            approval = "\(by) on \(on)"
        } else {
            approval = nil
        }
        var records = try top.mapping("records")
        var rules: [Kind: Rule] = [:]
        for kind in Kind.allCases {
            guard var entry = try records.optionalMapping(kind.rawValue) else {
                throw records.error(kind.rawValue, "is required: every kind of record needs a period and a reason")
            }
            let periodText = try entry.string("period")
            guard let period = Period(periodText) else {
                throw entry.error("period", "'\(periodText)' is not a period (for example 72h, 30d, 6w, 2y)")
            }
            let fromText = try entry.string("from")
            guard let from = Event(rawValue: fromText), kind.events.contains(from) else {
                throw entry.error(
                    "from",
                    "'\(fromText)' is not an event for \(kind.rawValue): use \(kind.events.map(\.rawValue).joined(separator: " or "))"
                )
            }
            let reason = try entry.string("reason").trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reason.isEmpty else { throw entry.error("reason", "must say why the record is kept this long") }
            if kind == .inboxIDs, period.approximateSeconds < Self.acceptanceWindow {
                throw entry.error(
                    "period",
                    "must be at least 72h: a message is accepted for 72 hours, and its id must be remembered as long")
            }
            try entry.finish()
            rules[kind] = Rule(kind: kind, period: period, from: from, reason: reason, line: entry.line)
        }
        try records.finish()
        try top.finish()
        self.rules = rules
    }
}

/// Where one kind of record lives in a service's store, and when its retention period starts: one definition
/// for the service's purge and for `mashctl retention report`.
public struct RetainedTable: Sendable {
    public var table: String
    /// The row's id column (an enquiry's id, a DAN's id, a school's URN, a message id).
    public var id: String
    /// SQL giving the row's start as seconds since 1970, NULL while its period has not begun (an open enquiry).
    public var start: String
    /// The content key scope prefix (`enquiry:`), when the rows hold content sealed under keys of their own.
    public var scope: String?
    /// The ledger's subject reference for the row, when it has one.
    public var subjectRef: String?
    /// Rows of other tables that belong to this one and go with it (`request.enquiry_id`).
    public var dependants: [String] = []

    public init(
        table: String, id: String, start: String, scope: String? = nil, subjectRef: String? = nil,
        dependants: [String] = []
    ) {
        self.table = table
        self.id = id
        self.start = start
        self.scope = scope
        self.subjectRef = subjectRef
        self.dependants = dependants
    }

    /// The runtime's inbox (message ids handled) and outbox (messages sent, once published): every service's
    /// `inboxIDs`.
    public static let messageIDs = [
        RetainedTable(table: "inbox", id: "message_id", start: "received_at"),
        RetainedTable(table: "outbox", id: "message_id", start: "published_at"),
    ]

    /// The key scope of the row `id`.
    public func scope(of id: String) -> String? { scope.map { $0 + id } }
}

extension ConfigMapping {
    /// `keyStore:` (the key store of each record's data key; nil: beside the store) and `retention:` (the
    /// schedule, normally `../retention.yaml`; nil purges nothing), as every adapter and desk file has them.
    public mutating func retentionSettings() throws -> (keyStore: String?, retention: RetentionSchedule?) {
        (try optionalPath("keyStore"), try optionalPath("retention").map { try RetentionSchedule.load(file: $0) })
    }
}
