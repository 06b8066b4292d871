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
}

/// A member of staff who may sign in to a desk.
public struct StaffAccount: Sendable, Equatable {
    public var id: String
    public var name: String
    /// bcrypt (`$2b$…`), made by `mash-desk user add`.
    public var passwordHash: String

    public init(id: String, name: String, passwordHash: String) {
        self.id = id
        self.name = name
        self.passwordHash = passwordHash
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
                staff.append(StaffAccount(id: id, name: try entry.string("name"), passwordHash: hash))
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
