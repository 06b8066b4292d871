import Foundation
import MASHCore
import Yams

/// A configuration file that is wrong: the file, the line and the key at fault.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String
    public var problem: String

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(problem)" : "\(place): '\(key)': \(problem)"
    }
}

/// `Config/routing.yaml`: which agencies an enquiry goes to, what each may be sent, and the SLA clocks.
public struct RoutingConfiguration: Sendable {
    public struct Agency: Sendable, Equatable {
        public var id: String
        /// The package waits for every mandatory agency; optional ones are cancelled when the mandatory ones
        /// have answered.
        public var mandatory: Bool
        /// The subject and household fields this agency may receive (data minimisation).
        public var personFields: Set<Person.Field>
        public var receivesHousehold: Bool
        public var receivesReason: Bool
    }

    public var agencies: [String: Agency]
    public var defaults: [RAG: [String]]
    /// Agencies allowed to send enquiries to the intake queue (the SPA).
    public var intakeSenders: Set<String>
    public var purpose: String
    public var policy: SLAPolicy
    /// How often a breached request is chased until it is answered.
    public var chaseEvery: TimeInterval

    public static func load(file path: String) throws -> RoutingConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: "", problem: "cannot read the file")
        }
        return try RoutingConfiguration(yaml: String(decoding: data, as: UTF8.self), file: path)
    }

    public init(yaml: String, file: String) throws {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationError(file: file, line: nil, key: "", problem: "not valid YAML: \(error)")
        }
        var top = try ConfigMapping(root, file: file, key: "")
        purpose = try top.string("purpose")
        intakeSenders = Set(try top.strings("intakeSenders"))
        var agencyMap = try top.mapping("agencies")
        var agencies: [String: Agency] = [:]
        for id in agencyMap.keys {
            var entry = try agencyMap.mapping(id)
            let mandatory = try entry.optionalBool("mandatory") ?? true
            var personFields: Set<Person.Field> = []
            var household = false
            var reason = false
            for (index, name) in try entry.strings("receives").enumerated() {
                switch name {
                case "household": household = true
                case "reason": reason = true
                default:
                    guard let field = Person.Field(rawValue: name) else {
                        let known = Person.Field.allCases.map(\.rawValue) + ["household", "reason"]
                        throw entry.error(
                            "receives[\(index)]",
                            "'\(name)' is not a field; use one of \(known.joined(separator: ", "))")
                    }
                    personFields.insert(field)
                }
            }
            try entry.finish()
            agencies[id] = Agency(
                id: id, mandatory: mandatory, personFields: personFields, receivesHousehold: household,
                receivesReason: reason)
        }
        try agencyMap.finish()
        self.agencies = agencies
        var defaultsMap = try top.mapping("defaults")
        var defaults: [RAG: [String]] = [:]
        for rag in RAG.allCases {
            let list = try defaultsMap.strings(rag.rawValue)
            for (index, agency) in list.enumerated() where agencies[agency] == nil {
                throw defaultsMap.error("\(rag.rawValue)[\(index)]", "'\(agency)' is not one of the agencies above")
            }
            defaults[rag] = list
        }
        try defaultsMap.finish()
        self.defaults = defaults

        if var sla = try top.optionalMapping("sla") {
            var partners = SLAPolicy.mashDefault.partners
            var decision = SLAPolicy.mashDefault.decision
            for rag in RAG.allCases {
                guard var clocks = try sla.optionalMapping(rag.rawValue) else { continue }
                if let text = try clocks.optionalString("partners") {
                    partners[rag] = try clocks.clock(text, key: "partners")
                }
                if let text = try clocks.optionalString("decision") {
                    decision[rag] = try clocks.clock(text, key: "decision")
                }
                try clocks.finish()
            }
            let fraction = try sla.optionalDouble("warningAt") ?? 0.75
            guard fraction > 0, fraction < 1 else {
                throw sla.error("warningAt", "must be between 0 and 1 (0.75 warns at 75 % of the allowed time)")
            }
            policy = SLAPolicy(partners: partners, decision: decision, warningFraction: fraction)
            chaseEvery = try sla.optionalString("chaseEvery").map { try sla.duration($0, key: "chaseEvery") } ?? 3600
            try sla.finish()
        } else {
            policy = .mashDefault
            chaseEvery = 3600
        }
        try top.finish()
    }

    /// The agencies an enquiry goes to: its own list, or the defaults for its RAG rating. Unknown agencies are
    /// an error naming them.
    public func agencies(for enquiry: Enquiry) throws -> [Agency] {
        let ids = enquiry.agencies.isEmpty ? defaults[enquiry.rag] ?? [] : enquiry.agencies
        let unknown = ids.filter { agencies[$0] == nil }
        guard unknown.isEmpty else {
            throw DocumentError(
                source: "enquiry \(enquiry.id)", field: "agencies",
                problem: "\(unknown.joined(separator: ", ")) not configured in routing.yaml")
        }
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }.map { agencies[$0]! }
    }
}

/// A YAML mapping read strictly: unknown keys are errors, and errors carry the line.
struct ConfigMapping {
    let file: String
    let path: String
    let line: Int?
    private var entries: [(key: String, value: Node, line: Int?)] = []
    private var read: Set<String> = []

    init(_ node: Node?, file: String, key: String) throws {
        self.file = file
        self.path = key
        self.line = node?.mark.map { $0.line }
        guard let node, case .mapping(let mapping) = node else {
            throw ConfigurationError(file: file, line: node?.mark?.line, key: key, problem: "must be a mapping")
        }
        for (k, v) in mapping {
            guard let name = k.string else {
                throw ConfigurationError(file: file, line: k.mark?.line, key: key, problem: "keys must be strings")
            }
            entries.append((name, v, k.mark?.line))
        }
    }

    var keys: [String] { entries.map(\.key) }

    func fullKey(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    func error(_ key: String, _ problem: String) -> ConfigurationError {
        let line = entries.first { $0.key == key.split(separator: "[").first.map(String.init) }?.line ?? self.line
        return ConfigurationError(file: file, line: line, key: fullKey(key), problem: problem)
    }

    private mutating func node(_ key: String) -> Node? {
        read.insert(key)
        return entries.first { $0.key == key }?.value
    }

    mutating func optionalString(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw error(key, "must be a single value") }
        return scalar.string
    }

    mutating func string(_ key: String) throws -> String {
        guard let value = try optionalString(key), !value.isEmpty else { throw error(key, "is required") }
        return value
    }

    mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let node = node(key) else { return nil }
        guard let value = node.bool else { throw error(key, "must be true or false") }
        return value
    }

    mutating func optionalDouble(_ key: String) throws -> Double? {
        guard let node = node(key) else { return nil }
        guard let value = node.float else { throw error(key, "must be a number") }
        return value
    }

    mutating func strings(_ key: String) throws -> [String] {
        guard let node = node(key) else { throw error(key, "is required (a list)") }
        guard case .sequence(let sequence) = node else { throw error(key, "must be a list") }
        return try sequence.enumerated().map { index, item in
            guard let value = item.string, !value.isEmpty else { throw error("\(key)[\(index)]", "must be a value") }
            return value
        }
    }

    mutating func optionalMapping(_ key: String) throws -> ConfigMapping? {
        guard let node = node(key) else { return nil }
        return try ConfigMapping(node, file: file, key: fullKey(key))
    }

    mutating func mapping(_ key: String) throws -> ConfigMapping {
        guard let mapping = try optionalMapping(key) else { throw error(key, "is required") }
        return mapping
    }

    /// `90s`, `15m`, `4h`: a duration.
    func duration(_ text: String, key: String) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()), value > 0 else {
            throw error(key, "'\(text)' is not a duration (for example 90s, 15m, 4h)")
        }
        return value * unit
    }

    /// `4h working`, `30s wall-clock`, `same time next working day`.
    func clock(_ text: String, key: String) throws -> SLAClock {
        if text == "same time next working day" { return .sameTimeNextWorkingDay }
        let parts = text.split(separator: " ")
        if parts.count == 2, parts[1] == "working" { return .workingTime(try duration(String(parts[0]), key: key)) }
        if parts.count == 2, parts[1] == "wall-clock" { return .wallClock(try duration(String(parts[0]), key: key)) }
        throw error(key, "'\(text)' is not a clock: use '4h working', '30s wall-clock' or 'same time next working day'")
    }

    func finish() throws {
        if let unknown = entries.first(where: { !read.contains($0.key) }) {
            throw ConfigurationError(
                file: file, line: unknown.line, key: fullKey(unknown.key), problem: "is not a known key")
        }
    }
}
