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
    /// When the document is read: what "in the future" means for its dates.
    let now: Date
    private var read: Set<String> = []

    /// How long an id may be, in ASCII characters.
    public static let identifierLimit = 128
    /// How far ahead of our clock a sender's clock may be before its "now" counts as the future.
    public static let clockSkew: TimeInterval = 300
    /// No one the hub hears about was born before this.
    public static let earliestBirth = LocalDate(year: 1900, month: 1, day: 1)

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        let value: Any
        do {
            value = try JSONText.parse(data)
        } catch {
            throw DocumentError(source: source, field: "", problem: "not valid JSON: \(error)")
        }
        guard let object = value as? [String: Any] else {
            throw DocumentError(source: source, field: "", problem: "the document must be a JSON object")
        }
        self.init(object: object, source: source, path: "", now: now)
    }

    init(object: [String: Any], source: String, path: String, now: Date) {
        self.object = object
        self.source = source
        self.path = path
        self.now = now
    }

    /// Booleans are read as NSNumber too; theirs is the only one with type `c`.
    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    public func error(_ key: String, _ problem: String) -> DocumentError {
        DocumentError(source: source, field: fieldPath(key), problem: problem)
    }

    private mutating func value(_ key: String) -> Any? {
        read.insert(key)
        // `is NSNull` would bridge a Swift string or dictionary to an object first: compare the type instead.
        guard let value = object[key], type(of: value) != NSNull.self else { return nil }
        return value
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value as? String else { throw error(key, "must be a string") }
        let trimmed = string.trimmingWhitespace
        return trimmed.isEmpty ? nil : trimmed
    }

    public mutating func string(_ key: String) throws -> String {
        guard let string = try optionalString(key) else { throw error(key, "is required") }
        return string
    }

    /// An id (of a document, request, enquiry, notice or party): 1 to 128 printable ASCII characters, no
    /// spaces, read as it is (not trimmed). Ids go into AMQP headers, logs and file names.
    public mutating func optionalIdentifier(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value as? String else { throw error(key, "must be a string") }
        guard !string.isEmpty, string.utf8.count <= Self.identifierLimit,
            string.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else {
            throw error(
                key, "must be an id: 1 to \(Self.identifierLimit) printable ASCII characters, without spaces")
        }
        return string
    }

    public mutating func identifier(_ key: String) throws -> String {
        guard let id = try optionalIdentifier(key) else { throw error(key, "is required") }
        return id
    }

    /// A date of birth: not before 1900 and not after today (a day's grace for the sender's time zone).
    public mutating func optionalBirthDate(_ key: String) throws -> LocalDate? {
        guard let date = try optionalDate(key) else { return nil }
        let tomorrow = LocalDate(daysSinceEpoch: Int((now.timeIntervalSince1970 / 86_400).rounded(.down)) + 1)
        guard !(date < Self.earliestBirth) else { throw error(key, "'\(date)' is before 1900") }
        guard !(tomorrow < date) else {
            throw error(key, "'\(date)' is in the future")
        }
        return date
    }

    /// A moment that has happened (a contact received, an incident): not later than now, beyond clock skew.
    public mutating func pastInstant(_ key: String) throws -> Date {
        let instant = try instant(key)
        guard instant.timeIntervalSince(now) <= Self.clockSkew else {
            throw error(key, "'\(Instant.format(instant))' is in the future")
        }
        return instant
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
        return DocumentReader(object: object, source: source, path: fieldPath(key), now: now)
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
            var reader = DocumentReader(object: object, source: source, path: elementPath, now: now)
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
/// Instants on the wire: RFC 3339 (`2026-11-23T14:05:00Z`, `2026-11-23T14:05:00.250+01:00`). Read and written
/// by hand: a formatter per call cost more than everything else a message needs, and this reader is stricter
/// (a day the month lacks, hour 24 or a leap second is refused, not rolled over).
public enum Instant {
    public static func parse(_ text: String) -> Date? {
        var utf8 = Array(text.utf8)[...]
        func digits(_ count: Int) -> Int? {
            guard utf8.count >= count else { return nil }
            var value = 0
            for byte in utf8.prefix(count) {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            utf8 = utf8.dropFirst(count)
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard utf8.first == byte else { return false }
            utf8 = utf8.dropFirst()
            return true
        }
        guard let year = digits(4), expect(45), let month = digits(2), expect(45), let day = digits(2), expect(84),
            let hour = digits(2), expect(58), let minute = digits(2), expect(58), let second = digits(2),
            (1...12).contains(month), day >= 1, day <= LocalDate.days(inMonth: month, of: year), hour < 24,
            minute < 60, second < 60
        else { return nil }
        var fraction = 0.0
        if expect(46) {
            var scale = 0.1
            var any = false
            while let byte = utf8.first, byte >= 48 && byte <= 57 {
                fraction += Double(byte - 48) * scale
                scale /= 10
                any = true
                utf8 = utf8.dropFirst()
            }
            guard any else { return nil }
        }
        var offset = 0
        if expect(90) {
        } else if let sign = utf8.first, sign == 43 || sign == 45 {
            utf8 = utf8.dropFirst()
            guard let hours = digits(2), expect(58), let minutes = digits(2), hours < 24, minutes < 60 else {
                return nil
            }
            offset = (hours * 60 + minutes) * 60 * (sign == 45 ? -1 : 1)
        } else {
            return nil
        }
        guard utf8.isEmpty else { return nil }
        let days = LocalDate.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// UTC with seconds, e.g. `2026-11-23T14:05:00Z` (a fraction of a second is dropped).
    public static func format(_ date: Date) -> String {
        let total = Int((date.timeIntervalSince1970).rounded(.down))
        let days = total >= 0 ? total / 86_400 : (total - 86_399) / 86_400
        let secondOfDay = total - days * 86_400
        let (year, month, day) = LocalDate.civil(daysSinceEpoch: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        var yearText = String(year)
        while yearText.count < 4 { yearText = "0" + yearText }
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):"
            + "\(two(secondOfDay % 60))Z"
    }
}

extension LocalDate {
    /// Days from 1970-01-01 to the proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The date `days` after 1970-01-01.
    public init(daysSinceEpoch days: Int) {
        let (year, month, day) = Self.civil(daysSinceEpoch: days)
        self.init(year: year, month: month, day: day)
    }

    /// Days from 1970-01-01 to this date.
    public var daysSinceEpoch: Int { Self.daysSinceEpoch(year: year, month: month, day: day) }
}

extension String {
    /// Without leading and trailing white space and newlines (Foundation's `.whitespacesAndNewlines`), looking
    /// only at the ends: the usual string, with none, is returned as it is, without a trip through `NSString`.
    var trimmingWhitespace: String {
        let blank = CharacterSet.whitespacesAndNewlines
        let scalars = unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, blank.contains(scalars[start]) { start = scalars.index(after: start) }
        while end > start, blank.contains(scalars[scalars.index(before: end)]) { end = scalars.index(before: end) }
        return start == scalars.startIndex && end == scalars.endIndex ? self : String(scalars[start..<end])
    }
}

/// Writes documents as the protocol's JSON (members in code-point order of their names, no escaped slashes).
public enum DocumentWriter {
    public static func encode(_ object: [String: Any]) -> [UInt8] { JSONText.encode(object) }
}
