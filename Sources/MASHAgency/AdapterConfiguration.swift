import AMQP
import Foundation
import GRDB
import MASHConfig
import MASHCore
import Sealing

/// `Config/agencies/<id>.yaml`: everything one agency's adapter needs, so a partner joins with a file and a key
/// pair and no code. Read strictly: an unknown or misspelt key is an error naming the file, line and key, and
/// the files it names (keys, extract) are checked at load, so a bad configuration fails at start, not at the
/// first enquiry.
public struct AdapterConfiguration: Sendable {
    /// A record field an extract may disclose: the column, how the answer labels it, and its data category.
    public struct Disclosure: Sendable, Equatable {
        public var column: String
        public var label: String
        public var category: DataCategory
    }

    /// A local extract searched by the identity matcher.
    public struct Extract: Sendable {
        public enum Format: String, Sendable { case csv, sqlite }
        public var format: Format
        public var file: String
        /// The table, for SQLite.
        public var table: String?
        /// Which column holds each identity field.
        public var columns: [Person.Field: String]
        /// The column naming each record in the agency's own system (`key:`), which `mashctl match` prints;
        /// nil: records are named by their row number in the extract.
        public var key: String?
        /// The column giving the date a finding was recorded.
        public var recordedOn: String?
        public var discloses: [Disclosure]
        /// Whether a potential match discloses the record (false: the answer says only that one exists).
        public var disclosePotentialMatches: Bool
        public var matcher: IdentityMatcher
    }

    public enum Backend: Sendable {
        case extract(Extract)
        /// Runs the agency's own program: the request JSON on stdin, the findings JSON on stdout.
        case command(arguments: [String], timeout: TimeInterval)
        /// POSTs the request JSON to the agency's own service and reads the findings JSON back.
        case http(url: URL, timeout: TimeInterval)
    }

    /// Where an enquiry's outcome goes in the agency's own system, once the decision is made.
    public enum OutcomeDelivery: Sendable {
        /// Runs the agency's program with the `mash.outcome/1` JSON on stdin; exit 0 means it was taken.
        case command(arguments: [String], timeout: TimeInterval)
        /// POSTs the `mash.outcome/1` JSON to the agency's service; a 2xx status means it was taken.
        case http(url: URL, timeout: TimeInterval)
    }

    public var file: String
    public var agency: String
    public var name: String
    /// The broker URL without its password when the password comes from `passwordFile`.
    public var brokerURL: String
    public var passwordFile: String?
    /// `broker.tls`: the CA that signed the broker's certificate, and this agency's own client certificate.
    public var brokerTLS: BrokerTLS?
    public var queue: String
    /// `<keys>/<agency>/` holds this agency's key pairs; `<keys>/<hub>/` the coordinator's public keys.
    public var keysDirectory: String
    public var hub: String
    public var store: String
    /// The key store of each record's own data key (`keyStore:`); nil: `<store>.keys.sqlite` beside the store.
    public var keyStore: String?
    /// The retention schedule (`retention:`, normally `../retention.yaml`); nil purges nothing.
    public var retention: RetentionSchedule?
    public var receives: Set<Person.Field>
    public var receivesHousehold: Bool
    public var receivesReason: Bool
    public var lawfulBasis: LawfulBasis
    /// The data categories this agency may disclose; a finding of any other category is never sent.
    public var categories: Set<DataCategory>
    public var backend: Backend
    /// nil: outcomes are kept in the adapter's store only.
    public var outcomes: OutcomeDelivery?
    /// Tries of a failing backend before answering `unable`, and the wait between them.
    public var attempts: Int
    public var retryDelay: TimeInterval
    /// The agency's own margin: it aims to answer this long before the hub's deadline, and reports requests
    /// past that point as at risk.
    public var answerWithin: TimeInterval
    public var heartbeatEvery: TimeInterval
    /// Requests researched at once.
    public var parallel: Int
    /// The local port serving `/metrics` and `/health` (0 picks a free one); nil serves neither.
    public var operationsPort: Int?

    /// `checkingKeys: false` reads a configuration whose keys are not issued yet (`mashctl match`, before going
    /// live); the service itself always checks them.
    public static func load(file path: String, checkingKeys: Bool = true) throws -> AdapterConfiguration {
        try AdapterConfiguration(top: try ConfigMapping.load(file: path), checkingKeys: checkingKeys)
    }

    public init(yaml: String, file: String) throws {
        try self.init(top: try ConfigMapping.document(yaml: yaml, file: file))
    }

    init(top root: ConfigMapping, checkingKeys: Bool = true) throws {
        var top = root
        file = top.file
        agency = try top.string("agency")
        guard PartyName.isValid(agency) else {
            throw top.error("agency", "'\(agency)' must be lower-case letters, digits and '-'")
        }
        name = try top.optionalString("name") ?? agency

        var brokerSection = try top.mapping("broker")
        let broker = try BrokerSettings(&brokerSection)
        brokerURL = broker.url
        passwordFile = broker.passwordFile
        brokerTLS = broker.tls
        queue = try brokerSection.optionalString("queue") ?? "agency.\(agency).enquiries"
        try brokerSection.finish()

        keysDirectory = try top.path("keys")
        hub = try top.optionalString("hub") ?? "coordinator"
        store = try top.optionalPath("store") ?? ".build/adapters/\(agency)/adapter.sqlite"
        (keyStore, retention) = try top.retentionSettings()

        let received = try top.receivedFields("receives")
        receives = received.person
        receivesHousehold = received.household
        receivesReason = received.reason

        var basis = try top.mapping("lawfulBasis")
        lawfulBasis = LawfulBasis(
            article6: try basis.enumValue("article6", Article6Basis.self),
            article9: try basis.optionalEnumValue("article9", Article9Condition.self),
            article10: try basis.optionalEnumValue("article10", Article10Condition.self))
        try basis.finish()

        var research = try top.mapping("research")
        let kind = try research.string("backend")
        attempts = try research.optionalInt("attempts") ?? 3
        guard attempts >= 1 else { throw research.error("attempts", "must be at least 1") }
        retryDelay =
            try research.optionalString("retryDelay").map { try research.duration($0, key: "retryDelay") } ?? 30
        let timeout = try research.optionalString("timeout").map { try research.duration($0, key: "timeout") } ?? 60
        switch kind {
        case "csv", "sqlite":
            let extract = try Self.extract(&research, format: .init(rawValue: kind)!)
            backend = .extract(extract)
            categories = Set(extract.discloses.map(\.category)).union([.personal])
        case "command":
            let arguments = try research.strings("command")
            backend = .command(arguments: try Self.resolveProgram(arguments, in: research), timeout: timeout)
            categories = try Self.categories(&research)
        case "http":
            backend = .http(url: try Self.url(&research), timeout: timeout)
            categories = try Self.categories(&research)
        default:
            throw research.error("backend", "'\(kind)' is not a backend; use csv, sqlite, command or http")
        }
        try research.finish()
        do {
            try lawfulBasis.check(covers: categories)
        } catch {
            throw top.error("lawfulBasis", "the research may disclose \(Self.list(categories)), but \(error.reason)")
        }

        if var section = try top.optionalMapping("outcomes") {
            let timeout =
                try section.optionalString("timeout").map { try section.duration($0, key: "timeout") } ?? 60
            switch (section.has("command"), section.has("url")) {
            case (true, false):
                outcomes = .command(
                    arguments: try Self.resolveProgram(try section.strings("command"), in: section), timeout: timeout)
            case (false, true):
                outcomes = .http(url: try Self.url(&section), timeout: timeout)
            default:
                throw section.error("command", "give either a command or a url to pass outcomes to, not both")
            }
            try section.finish()
        } else {
            outcomes = nil
        }

        answerWithin =
            try top.optionalString("answerWithin").map { try top.duration($0, key: "answerWithin") } ?? 30 * 60
        heartbeatEvery = try top.optionalString("heartbeat").map { try top.duration($0, key: "heartbeat") } ?? 30
        parallel = try top.optionalInt("parallel") ?? 2
        guard (1...32).contains(parallel) else { throw top.error("parallel", "must be from 1 to 32") }
        operationsPort = try top.optionalInt("operationsPort")
        if let port = operationsPort, !(0...65535).contains(port) {
            throw top.error("operationsPort", "must be a port number from 0 to 65535")
        }
        try top.finish()
        if checkingKeys { try checkKeys(root) }
    }

    private static func list(_ categories: Set<DataCategory>) -> String {
        categories.map(\.rawValue).sorted().joined(separator: ", ")
    }

    private static func categories(_ research: inout ConfigMapping) throws -> Set<DataCategory> {
        var result: Set<DataCategory> = [.personal]
        for (index, name) in try research.strings("categories").enumerated() {
            guard let category = DataCategory(rawValue: name) else {
                throw research.error(
                    "categories[\(index)]",
                    "'\(name)' is not a data category; use \(DataCategory.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            result.insert(category)
        }
        return result
    }

    private static func url(_ section: inout ConfigMapping) throws -> URL {
        let text = try section.string("url")
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? "") else {
            throw section.error("url", "'\(text)' is not an http:// or https:// URL")
        }
        return url
    }

    /// A program named by a relative path is found from the configuration file's folder.
    private static func resolveProgram(_ arguments: [String], in section: ConfigMapping) throws -> [String] {
        guard let program = arguments.first else { throw section.error("command", "must name a program") }
        guard program.contains("/"), !program.hasPrefix("/") else { return arguments }
        let folder = (section.file as NSString).deletingLastPathComponent
        return [((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(program)] + arguments.dropFirst()
    }

    private static func extract(_ research: inout ConfigMapping, format: Extract.Format) throws -> Extract {
        let file = try research.path("file")
        let table = format == .sqlite ? try research.string("table") : nil
        var columnMap = try research.mapping("columns")
        var columns: [Person.Field: String] = [:]
        for key in columnMap.keys {
            guard let field = Person.Field(rawValue: key), field != .role else {
                throw columnMap.error(
                    key,
                    "is not an identity field; use \(Person.Field.allCases.dropFirst().map(\.rawValue).joined(separator: ", "))"
                )
            }
            columns[field] = try columnMap.string(key)
        }
        try columnMap.finish()
        guard columns[.surname] != nil || columns[.nhsNumber] != nil || columns[.upn] != nil || columns[.pncID] != nil
        else {
            throw research.error("columns", "needs at least a surname or an identifier (nhsNumber, upn, pncID) column")
        }
        let key = try research.optionalString("key")
        let recordedOn = try research.optionalString("recordedOn")
        var discloses: [Disclosure] = []
        for var item in try research.mappings("discloses") {
            let categoryName = try item.string("category")
            guard let category = DataCategory(rawValue: categoryName) else {
                throw item.error(
                    "category",
                    "'\(categoryName)' is not a data category; use \(DataCategory.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let column = try item.string("column")
            discloses.append(
                Disclosure(column: column, label: try item.optionalString("label") ?? column, category: category))
            try item.finish()
        }
        guard !discloses.isEmpty else { throw research.error("discloses", "must name at least one column") }
        let potentials = try research.optionalBool("disclosePotentialMatches") ?? false
        var matcher = IdentityMatcher()
        if var thresholds = try research.optionalMapping("matchThresholds") {
            matcher.matchAt = try thresholds.optionalDouble("match") ?? matcher.matchAt
            matcher.potentialAt = try thresholds.optionalDouble("potential") ?? matcher.potentialAt
            guard 0 < matcher.potentialAt, matcher.potentialAt < matcher.matchAt, matcher.matchAt < 1 else {
                throw thresholds.error("match", "thresholds must satisfy 0 < potential < match < 1")
            }
            try thresholds.finish()
        }
        let extract = Extract(
            format: format, file: file, table: table, columns: columns, key: key, recordedOn: recordedOn,
            discloses: discloses, disclosePotentialMatches: potentials, matcher: matcher)
        let needed = Array(columns.values) + discloses.map(\.column) + [recordedOn, key].compactMap { $0 }
        let present: [String]
        do {
            present = try ExtractRecords.columns(of: extract)
        } catch {
            throw research.error("file", "\(error)")
        }
        for column in needed where !present.contains(column) {
            throw research.error(
                "columns", "the extract \(file) has no column '\(column)' (it has \(present.joined(separator: ", ")))")
        }
        return extract
    }

    /// The agency's own private key and the hub's public key must be there before anything is consumed.
    private func checkKeys(_ top: ConfigMapping) throws {
        do {
            _ = try KeyDirectory.keyPairs(agency: agency, in: keysDirectory)
            _ = try KeyDirectory.newestPublicKey(agency: hub, in: keysDirectory)
        } catch let error as SealingError {
            throw top.error("keys", error.message)
        }
    }

    /// One line naming the backend, for operators.
    public var backendSummary: String {
        switch backend {
        case .extract(let extract): "\(extract.format.rawValue) extract \(extract.file)"
        case .command(let arguments, _): "command \(arguments[0])"
        case .http(let url, _): "http \(url.absoluteString)"
        }
    }

    /// The URL to connect with: `override` (a command-line option or environment variable) if given, else the
    /// configured URL with the password read from `passwordFile`.
    public func brokerURL(override: String?) throws -> AMQPURL {
        try BrokerSettings(url: brokerURL, passwordFile: passwordFile, tls: brokerTLS, file: file)
            .amqpURL(override: override)
    }
}

/// A configuration file's `broker` section (adapters and desks): the URL without its password, the file the
/// password is read from, and the TLS files; the section's own keys (such as `queue`) are left to the caller.
public struct BrokerSettings: Sendable, Equatable {
    public var url: String
    public var passwordFile: String?
    public var tls: BrokerTLS?
    public var file: String

    public init(url: String, passwordFile: String?, tls: BrokerTLS?, file: String) {
        self.url = url
        self.passwordFile = passwordFile
        self.tls = tls
        self.file = file
    }

    /// Reads `url`, `passwordFile` and `tls` from the section.
    public init(_ broker: inout ConfigMapping) throws {
        file = broker.file
        url = try broker.string("url")
        do {
            _ = try AMQPURL(url)
        } catch {
            throw broker.error("url", "\(error)")
        }
        passwordFile = try broker.optionalPath("passwordFile")
        if var section = try broker.optionalMapping("tls") {
            guard url.lowercased().hasPrefix("amqps://") else {
                throw broker.error("tls", "needs an amqps:// url (TLS), not \(url)")
            }
            let tls = BrokerTLS(
                caCertificate: try section.path("ca"), certificate: try section.optionalPath("certificate"),
                key: try section.optionalPath("key"))
            if (tls.certificate == nil) != (tls.key == nil) {
                throw section.error(tls.certificate == nil ? "certificate" : "key", "certificate and key go together")
            }
            try section.finish()
            self.tls = tls
        }
    }

    /// The URL to connect with: `override` if given, else `url` with the password read from `passwordFile`.
    public func amqpURL(override: String?) throws -> AMQPURL {
        if let override { return try AMQPURL(override) }
        var amqp = try AMQPURL(url)
        if let tls {
            for (key, path) in [("ca", tls.caCertificate), ("certificate", tls.certificate), ("key", tls.key)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) {
                    throw ConfigurationError(
                        file: file, line: nil, key: "broker.tls.\(key)", problem: "cannot read \(path)")
                }
            }
            amqp.caCertificateFile = tls.caCertificate
            amqp.certificateFile = tls.certificate
            amqp.keyFile = tls.key
        }
        if let passwordFile {
            guard let data = FileManager.default.contents(atPath: passwordFile) else {
                throw ConfigurationError(
                    file: file, line: nil, key: "broker.passwordFile", problem: "cannot read \(passwordFile)")
            }
            amqp.password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return amqp
    }
}

/// The files an adapter presents and trusts on a TLS connection to the broker.
public struct BrokerTLS: Sendable, Equatable {
    public var caCertificate: String
    public var certificate: String?
    public var key: String?
}
