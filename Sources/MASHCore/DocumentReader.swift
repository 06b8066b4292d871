import Foundation

/// Why a document was refused: the source it came from, the field at fault (a dotted path such as
/// `subject.dateOfBirth` or `agencies[2]`) and what is wrong with it.
public struct DocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var field: String
    public var problem: String

    public init(source: String, field: String, problem: String) {
        self.source = source
        self.field = field
        self.problem = problem
    }

    public var description: String {
        field.isEmpty ? "\(source): \(problem)" : "\(source): field '\(field)': \(problem)"
    }
}

/// Reads one JSON object strictly: every member must be read, so an unknown or misspelt member is an error
/// (`finish()`), and every error names the member's full path.
public struct DocumentReader {
    let source: String
    let path: String
    let object: [String: Any]
    private var read: Set<String> = []

    public init(json data: [UInt8], source: String) throws {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(data), options: [])
        } catch {
            throw DocumentError(source: source, field: "", problem: "not valid JSON (\(Self.reason(error)))")
        }
        guard let object = value as? [String: Any] else {
            throw DocumentError(source: source, field: "", problem: "the document must be a JSON object")
        }
        self.init(object: object, source: source, path: "")
    }

    init(object: [String: Any], source: String, path: String) {
        self.object = object
        self.source = source
        self.path = path
    }

    private static func reason(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "\(error)"
    }

    /// JSONSerialization gives booleans as NSNumber too; theirs is the only one with type `c`.
    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    public func error(_ key: String, _ problem: String) -> DocumentError {
        DocumentError(source: source, field: fieldPath(key), problem: problem)
    }

    private mutating func value(_ key: String) -> Any? {
        read.insert(key)
        guard let value = object[key], !(value is NSNull) else { return nil }
        return value
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value as? String else { throw error(key, "must be a string") }
        let trimmed = string.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    public mutating func string(_ key: String) throws -> String {
        guard let string = try optionalString(key) else { throw error(key, "is required") }
        return string
    }

    public mutating func optionalBool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let number = value as? NSNumber, Self.isBoolean(number) else {
            throw error(key, "must be true or false")
        }
        return number.boolValue
    }

    public mutating func optionalInt(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number),
            let int = Int(exactly: number.doubleValue)
        else { throw error(key, "must be a whole number") }
        return int
    }

    public mutating func optionalDouble(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number) else { throw error(key, "must be a number") }
        return number.doubleValue
    }

    public mutating func optionalEnum<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E?
    where E.RawValue == String {
        guard let raw = try optionalString(key) else { return nil }
        guard let value = E(rawValue: raw) else {
            let allowed = E.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            throw error(key, "'\(raw)' is not one of \(allowed)")
        }
        return value
    }

    public mutating func `enum`<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type) throws -> E
    where E.RawValue == String {
        guard let value = try optionalEnum(key, type) else { throw error(key, "is required") }
        return value
    }

    public mutating func optionalDate(_ key: String) throws -> LocalDate? {
        guard let text = try optionalString(key) else { return nil }
        guard let date = LocalDate(text) else { throw error(key, "'\(text)' is not a date (YYYY-MM-DD)") }
        return date
    }

    public mutating func date(_ key: String) throws -> LocalDate {
        guard let date = try optionalDate(key) else { throw error(key, "is required") }
        return date
    }

    public mutating func optionalInstant(_ key: String) throws -> Date? {
        guard let text = try optionalString(key) else { return nil }
        guard let instant = Instant.parse(text) else {
            throw error(key, "'\(text)' is not a time (ISO 8601 with a zone, e.g. 2026-11-23T14:05:00Z)")
        }
        return instant
    }

    public mutating func instant(_ key: String) throws -> Date {
        guard let instant = try optionalInstant(key) else { throw error(key, "is required") }
        return instant
    }

    public mutating func optionalObject(_ key: String) throws -> DocumentReader? {
        guard let value = value(key) else { return nil }
        guard let object = value as? [String: Any] else { throw error(key, "must be an object") }
        return DocumentReader(object: object, source: source, path: fieldPath(key))
    }

    public mutating func object(_ key: String) throws -> DocumentReader {
        guard let reader = try optionalObject(key) else { throw error(key, "is required") }
        return reader
    }

    /// Each element of an array of objects, read by `body`; a missing array is empty.
    public mutating func objects<T>(_ key: String, _ body: (inout DocumentReader) throws -> T) throws -> [T] {
        guard let value = value(key) else { return [] }
        guard let array = value as? [Any] else { throw error(key, "must be an array") }
        return try array.enumerated().map { index, element in
            let elementPath = "\(fieldPath(key))[\(index)]"
            guard let object = element as? [String: Any] else {
                throw DocumentError(source: source, field: elementPath, problem: "must be an object")
            }
            var reader = DocumentReader(object: object, source: source, path: elementPath)
            let result = try body(&reader)
            try reader.finish()
            return result
        }
    }

    /// An array of strings; a missing array is empty.
    public mutating func strings(_ key: String) throws -> [String] {
        guard let value = value(key) else { return [] }
        guard let array = value as? [Any] else { throw error(key, "must be an array of strings") }
        return try array.enumerated().map { index, element in
            guard let string = element as? String, !string.isEmpty else {
                throw DocumentError(
                    source: source, field: "\(fieldPath(key))[\(index)]", problem: "must be a non-empty string")
            }
            return string
        }
    }

    /// The whole object, for a nested document read by its own type.
    mutating func takeAll() -> [String: Any] {
        read.formUnion(object.keys)
        return object
    }

    /// Refuses members nobody read: a typo must not silently drop a field.
    public func finish() throws {
        let unknown = Set(object.keys).subtracting(read).sorted()
        if let first = unknown.first {
            throw DocumentError(source: source, field: fieldPath(first), problem: "is not a known field")
        }
    }
}

/// ISO 8601 instants as the documents carry them.
public enum Instant {
    public static func parse(_ text: String) -> Date? {
        for options: ISO8601DateFormatter.Options in [
            [.withInternetDateTime], [.withInternetDateTime, .withFractionalSeconds],
        ] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    /// UTC with seconds, e.g. `2026-11-23T14:05:00Z`.
    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// Writes documents as canonical JSON (sorted keys, no escaped slashes).
public enum DocumentWriter {
    public static func encode(_ object: [String: Any]) -> [UInt8] {
        do {
            return Array(
                try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        } catch {
            preconditionFailure("a document built from strings, numbers, arrays and objects always encodes: \(error)")
        }
    }
}
