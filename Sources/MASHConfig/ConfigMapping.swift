import Foundation
import MASHCore
import Yams

/// A configuration file that is wrong: the file, the line and the key at fault.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var key: String
    public var problem: String

    public init(file: String, line: Int?, key: String, problem: String) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(place): \(problem)" : "\(place): '\(key)': \(problem)"
    }
}

/// A YAML mapping read strictly: unknown keys are errors, and errors carry the line.
public struct ConfigMapping {
    public let file: String
    public let path: String
    public let line: Int?
    private var entries: [(key: String, value: Node, line: Int?)] = []
    private var read: Set<String> = []

    public init(_ node: Node?, file: String, key: String) throws {
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

    /// The top-level mapping of a YAML document.
    public static func document(yaml: String, file: String) throws -> ConfigMapping {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
            throw duplicateKey(duplicates.first ?? "", firstLine: context.mark.line, yaml: yaml, file: file)
        } catch let error as YamlError {
            throw ConfigurationError(file: file, line: nil, key: "", problem: "not valid YAML: \(error)")
        }
        return try ConfigMapping(root, file: file, key: "")
    }

    /// A key given twice in one mapping, as one line naming the second occurrence (the parser's own message
    /// quotes the whole file). YAML parsers differ on which value wins, so it is refused, not guessed.
    static func duplicateKey(_ key: String, firstLine: Int, yaml: String, file: String) -> ConfigurationError {
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = firstLine >= 1 && firstLine <= lines.count ? lines[firstLine - 1].prefix { $0 == " " }.count : 0
        let again = (firstLine..<max(firstLine, lines.count)).first { index in
            let line = lines[index]
            return line.prefix { $0 == " " }.count == indent
                && line.dropFirst(indent).drop { $0 == "-" || $0 == " " }.hasPrefix("\(key):")
        }
        return ConfigurationError(
            file: file, line: again.map { $0 + 1 } ?? firstLine, key: key,
            problem: "is given twice in the same mapping (first on line \(firstLine)); give it once")
    }

    /// The top-level mapping of the YAML file at `path`.
    public static func load(file path: String) throws -> ConfigMapping {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: "", problem: "cannot read the file")
        }
        return try document(yaml: String(decoding: data, as: UTF8.self), file: path)
    }

    public var keys: [String] { entries.map(\.key) }

    public func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    public func fullKey(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    public func error(_ key: String, _ problem: String) -> ConfigurationError {
        let line = entries.first { $0.key == key.split(separator: "[").first.map(String.init) }?.line ?? self.line
        return ConfigurationError(file: file, line: line, key: fullKey(key), problem: problem)
    }

    private mutating func node(_ key: String) -> Node? {
        read.insert(key)
        return entries.first { $0.key == key }?.value
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        guard let node = node(key) else { return nil }
        guard case .scalar(let scalar) = node else { throw error(key, "must be a single value") }
        return scalar.string
    }

    public mutating func string(_ key: String) throws -> String {
        guard let value = try optionalString(key), !value.isEmpty else { throw error(key, "is required") }
        return value
    }

    public mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let node = node(key) else { return nil }
        guard let value = node.bool else { throw error(key, "must be true or false") }
        return value
    }

    public mutating func optionalDouble(_ key: String) throws -> Double? {
        guard let node = node(key) else { return nil }
        guard let value = node.float else { throw error(key, "must be a number") }
        return value
    }

    public mutating func strings(_ key: String) throws -> [String] {
        guard let node = node(key) else { throw error(key, "is required (a list)") }
        guard case .sequence(let sequence) = node else { throw error(key, "must be a list") }
        return try sequence.enumerated().map { index, item in
            guard let value = item.string, !value.isEmpty else { throw error("\(key)[\(index)]", "must be a value") }
            return value
        }
    }

    public mutating func optionalStrings(_ key: String) throws -> [String]? {
        entries.contains { $0.key == key } ? try strings(key) : nil
    }

    public mutating func optionalInt(_ key: String) throws -> Int? {
        guard let node = node(key) else { return nil }
        guard let value = node.int else { throw error(key, "must be a whole number") }
        return value
    }

    /// A file path; a relative one is taken from the folder of the configuration file, so a configuration
    /// means the same whatever directory the service starts in.
    public mutating func optionalPath(_ key: String) throws -> String? {
        guard let value = try optionalString(key), !value.isEmpty else { return nil }
        if value.hasPrefix("/") { return value }
        let folder = (file as NSString).deletingLastPathComponent
        return URL(fileURLWithPath: ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(value))
            .standardizedFileURL.path
    }

    public mutating func path(_ key: String) throws -> String {
        guard let value = try optionalPath(key) else { throw error(key, "is required (a file path)") }
        return value
    }

    /// A list of mappings, each read strictly.
    public mutating func mappings(_ key: String) throws -> [ConfigMapping] {
        guard let node = node(key) else { throw error(key, "is required (a list)") }
        guard case .sequence(let sequence) = node else { throw error(key, "must be a list") }
        return try sequence.enumerated().map { index, item in
            try ConfigMapping(item, file: file, key: fullKey("\(key)[\(index)]"))
        }
    }

    public mutating func optionalMapping(_ key: String) throws -> ConfigMapping? {
        guard let node = node(key) else { return nil }
        return try ConfigMapping(node, file: file, key: fullKey(key))
    }

    public mutating func mapping(_ key: String) throws -> ConfigMapping {
        guard let mapping = try optionalMapping(key) else { throw error(key, "is required") }
        return mapping
    }

    /// `90s`, `15m`, `4h`, `90d`: a duration.
    public func duration(_ text: String, key: String) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()), value > 0 else {
            throw error(key, "'\(text)' is not a duration (for example 90s, 15m, 4h, 90d)")
        }
        return value * unit
    }

    /// `4h working`, `30s wall-clock`, `same time next working day`.
    public func clock(_ text: String, key: String) throws -> SLAClock {
        if text == "same time next working day" { return .sameTimeNextWorkingDay }
        let parts = text.split(separator: " ")
        if parts.count == 2, parts[1] == "working" { return .workingTime(try duration(String(parts[0]), key: key)) }
        if parts.count == 2, parts[1] == "wall-clock" { return .wallClock(try duration(String(parts[0]), key: key)) }
        throw error(key, "'\(text)' is not a clock: use '4h working', '30s wall-clock' or 'same time next working day'")
    }

    public func finish() throws {
        if let unknown = entries.first(where: { !read.contains($0.key) }) {
            throw ConfigurationError(
                file: file, line: unknown.line, key: fullKey(unknown.key), problem: "is not a known key")
        }
    }
}

/// A `receives` list: the person fields an agency may be sent, plus `household` and `reason`. The coordinator's
/// routing and an agency's own configuration read it the same way.
public struct ReceivedFields: Sendable, Equatable {
    public var person: Set<Person.Field>
    public var household: Bool
    public var reason: Bool
}

extension ConfigMapping {
    public mutating func receivedFields(_ key: String) throws -> ReceivedFields {
        var received = ReceivedFields(person: [], household: false, reason: false)
        for (index, name) in try strings(key).enumerated() {
            switch name {
            case "household": received.household = true
            case "reason": received.reason = true
            default:
                guard let field = Person.Field(rawValue: name) else {
                    let known = Person.Field.allCases.map(\.rawValue) + ["household", "reason"]
                    throw error(
                        "\(key)[\(index)]", "'\(name)' is not a field; use one of \(known.joined(separator: ", "))")
                }
                received.person.insert(field)
            }
        }
        return received
    }

    public mutating func optionalEnumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws
        -> E?
    where E.RawValue == String {
        guard let text = try optionalString(key) else { return nil }
        guard let value = E(rawValue: text) else {
            throw error(key, "'\(text)' is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    public mutating func enumValue<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E
    where E.RawValue == String {
        guard let value = try optionalEnumValue(key, type) else { throw error(key, "is required") }
        return value
    }
}
