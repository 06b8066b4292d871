/// Reads a roll exported as CSV straight from its bytes into pupils: one pass, the fields of a row kept as byte
/// ranges of the file, a `String` made only for a value the pupil keeps, and no dictionary per row.
///
/// It reads by the rules of `CSVTable` (RFC 4180; a `\r` outside quotes ignored; blank lines skipped) and
/// refuses what `CSVTable` and `RollFields` refuse, with the same messages and the same precedence: the file's
/// structure first (a stray or unclosed quote, an empty file, then a row with the wrong number of fields), then
/// its header (an unknown or missing column), then the first row whose values cannot make a pupil.
struct RollCSVReader {
    /// One field of the current row: the bytes `start..<end` of the file, `plain` when they are the value
    /// itself (no quotes, no stray `\r`), so that only an unusual field is copied to be unescaped.
    private struct Span {
        var start: Int
        var end: Int
        var plain: Bool
    }

    /// Where each known column is in a row (by `SchoolRoll.csvColumns` order), or -1.
    private var positions: [Int]
    private let source: String

    private init(source: String) {
        self.source = source
        positions = []
    }

    static func read(_ bytes: UnsafeBufferPointer<UInt8>, source: String) throws -> [RollPupil] {
        var reader = RollCSVReader(source: source)
        return try reader.read(bytes)
    }

    private mutating func read(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [RollPupil] {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), cr = UInt8(ascii: "\r"), lf = UInt8(ascii: "\n")
        var pupils: [RollPupil] = []
        pupils.reserveCapacity(bytes.count / 48)
        var spans: [Span] = []
        spans.reserveCapacity(16)
        var header: [String]?
        var headerFault: DocumentError?
        var fieldCountFault: DocumentError?
        var valueFault: DocumentError?

        var index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var line = 1
        var recordLine = 1
        var quoted = false
        var fieldStarted = false
        var fieldStart = index
        var plain = true

        func endField(at end: Int) {
            // A `\r` just before the delimiter (a CRLF file) is dropped without making the field unusual.
            var last = end
            if plain, last > fieldStart, bytes[last - 1] == cr { last -= 1 }
            spans.append(Span(start: fieldStart, end: last, plain: plain))
            fieldStarted = false
            plain = true
        }
        func endRecord(at end: Int) throws {
            endField(at: end)
            defer { spans.removeAll(keepingCapacity: true) }
            if spans.count == 1, Self.withValue(spans[0], bytes, { $0.isEmpty }) { return }
            guard let columns = header else {
                header = spans.map { Self.withValue($0, bytes) { String(decoding: $0, as: UTF8.self).trimmingSpaces } }
                headerFault = mapColumns(header!)
                return
            }
            guard spans.count == columns.count else {
                if fieldCountFault == nil {
                    fieldCountFault = DocumentError(
                        source: source, field: "line \(recordLine)",
                        problem: "has \(spans.count) fields; the header has \(columns.count)")
                }
                return
            }
            guard headerFault == nil, fieldCountFault == nil, valueFault == nil else { return }
            do {
                pupils.append(try pupil(spans, bytes, line: recordLine))
            } catch let fault as DocumentError {
                valueFault = fault
            }
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == quote {
                    if index < bytes.count && bytes[index] == quote {
                        index += 1
                    } else {
                        quoted = false
                    }
                } else if byte == lf {
                    line += 1
                }
                continue
            }
            switch byte {
            case quote:
                guard !fieldStarted else {
                    throw DocumentError(
                        source: source, field: "line \(line)", problem: "a quote inside an unquoted field")
                }
                quoted = true
                fieldStarted = true
                plain = false
            case comma:
                endField(at: index - 1)
                fieldStart = index
            case cr:
                // Ignored outside quotes; only a CR ending the field keeps it plain (see endField).
                if index < bytes.count && bytes[index] != lf && bytes[index] != comma { plain = false }
            case lf:
                try endRecord(at: index - 1)
                fieldStart = index
                line += 1
                recordLine = line
            default:
                fieldStarted = true
            }
        }
        if quoted {
            throw DocumentError(
                source: source, field: "line \(recordLine)", problem: "a quoted field is not closed before the end")
        }
        if fieldStarted || !spans.isEmpty {
            try endRecord(at: bytes.count)
        }
        guard header != nil else {
            throw DocumentError(source: source, field: "", problem: "the file is empty (a header row is required)")
        }
        if let fault = fieldCountFault ?? headerFault ?? valueFault { throw fault }
        return pupils
    }

    /// The known column at each position; a fault for an unknown column or a required one missing.
    private mutating func mapColumns(_ columns: [String]) -> DocumentError? {
        positions = [Int](repeating: -1, count: SchoolRoll.csvColumns.count)
        for (position, column) in columns.enumerated() {
            guard let known = SchoolRoll.csvColumns.firstIndex(where: { CSVTable.sameColumn($0, column) }) else {
                return DocumentError(
                    source: source, field: "line 1",
                    problem: "unknown column '\(column)' (known: \(SchoolRoll.csvColumns.joined(separator: ", ")))")
            }
            positions[known] = position
        }
        for (known, required) in SchoolRoll.csvColumns.prefix(5).enumerated() where positions[known] < 0 {
            return DocumentError(
                source: source, field: "line 1", problem: "the required column '\(required)' is missing")
        }
        return nil
    }

    /// "line 12", written without string interpolation (it is made for every pupil).
    static func locator(line: Int) -> String {
        var digits = 1
        var rest = line
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return String(unsafeUninitializedCapacity: 5 + digits) { buffer in
            for (offset, byte) in "line ".utf8.enumerated() { buffer[offset] = byte }
            var rest = line
            for offset in stride(from: 4 + digits, through: 5, by: -1) {
                buffer[offset] = UInt8(48 + rest % 10)
                rest /= 10
            }
            return 5 + digits
        }
    }

    /// Calls `body` with the field's value: its bytes in the file, or for a quoted field or one holding a stray
    /// `\r`, a copy unescaped.
    private static func withValue<R>(
        _ span: Span, _ bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) rethrows -> R {
        guard !span.plain else { return try body(UnsafeBufferPointer(rebasing: bytes[span.start..<span.end])) }
        var out: [UInt8] = []
        var quoted = false
        var index = span.start
        while index < span.end {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index < span.end && bytes[index] == UInt8(ascii: "\"") {
                        out.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    out.append(byte)
                }
            } else if byte == UInt8(ascii: "\"") {
                quoted = true
            } else if byte != UInt8(ascii: "\r") {
                out.append(byte)
            }
        }
        return try out.withUnsafeBufferPointer(body)
    }

    /// A row's values by column, for `RollPupil(values:locator:source:)`.
    private struct Row: RollValues {
        let spans: [Span]
        let positions: [Int]
        let bytes: UnsafeBufferPointer<UInt8>

        @inline(__always)
        func withValue<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
            let position = positions[column]
            guard position >= 0 else { return nil }
            return try RollCSVReader.withValue(spans[position], bytes, body)
        }
    }

    private func pupil(_ spans: [Span], _ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws -> RollPupil {
        try RollPupil(
            values: Row(spans: spans, positions: positions, bytes: bytes), locator: Self.locator(line: line),
            source: source)
    }
}

/// A pupil's raw values by column (`SchoolRoll.csvColumns` order), however the file holds them.
protocol RollValues {
    /// Calls `body` with the column's value as the file gives it; nil when the file has none.
    func withValue<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R?
}

extension RollPupil {
    /// A pupil from its raw values: each cleaned as `RollFields` cleans it, checked in the order
    /// `RollFields.pupil()` checks, so the first fault reported is the same.
    @inline(__always)
    init(values: some RollValues, locator: String, source: String) throws {
        /// The column's value cleaned (`RollValue.cleaned`) given to `body`; nil when blank or not in the file.
        func cleaned<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
            try values.withValue(column) { try RollValue.cleaned($0, body) } ?? nil
        }
        func text(_ column: Int) -> String? { cleaned(column) { String(decoding: $0, as: UTF8.self) } }
        func upper(_ column: Int) -> String? { cleaned(column, RollValue.uppercased) }
        func fault(_ column: Int, _ problem: String) -> DocumentError {
            DocumentError(source: source, field: "\(locator) \(SchoolRoll.csvColumns[column])", problem: problem)
        }
        func date(_ column: Int) throws -> LocalDate? {
            try cleaned(column) { value in
                if let date = RollValue.date(value) { return date }
                throw fault(
                    column, "'\(String(decoding: value, as: UTF8.self))' is not a date (YYYY-MM-DD or DD/MM/YYYY)")
            }
        }
        func required(_ column: Int) throws -> String {
            guard let value = text(column) else { throw fault(column, "is required and blank") }
            return value
        }
        guard let born = try date(3) else { throw fault(3, "is required and blank") }
        guard let entry = try date(4) else { throw fault(4, "is required and blank") }
        let surname = try required(1)
        let forename = try required(2)
        let leaving = try date(7)
        let (upn, status) = cleaned(0, RollPupil.checkedUPN) ?? ("", .missing)
        self.init(
            upn: upn, status: status, surname: surname, forename: forename, dateOfBirth: born, gender: upper(5),
            yearGroup: upper(6), entryDate: entry, leavingDate: leaving, leavingReason: text(8), destination: text(9),
            postcode: upper(10), locator: locator)
    }
}

/// How a roll's values are cleaned, on bytes: the rules `RollFields` applies to strings.
enum RollValue {
    /// Calls `body` with the value without leading and trailing spaces and tabs, and runs of spaces inside made
    /// one; nil when blank.
    static func cleaned<R>(
        _ value: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws -> R
    ) rethrows -> R? {
        var start = 0
        var end = value.count
        while start < end && (value[start] == 0x20 || value[start] == 0x09) { start += 1 }
        while end > start && (value[end - 1] == 0x20 || value[end - 1] == 0x09) { end -= 1 }
        guard start < end else { return nil }
        var previous: UInt8 = 0
        for index in start..<end {
            if value[index] == 0x20 && previous == 0x20 {
                var out: [UInt8] = []
                out.reserveCapacity(end - start)
                for byte in value[start..<end] where !(byte == 0x20 && out.last == 0x20) { out.append(byte) }
                return try out.withUnsafeBufferPointer(body)
            }
            previous = value[index]
        }
        return try body(UnsafeBufferPointer(rebasing: value[start..<end]))
    }

    /// Upper case: by bytes for ASCII, by Unicode's rules otherwise.
    static func uppercased(_ value: UnsafeBufferPointer<UInt8>) -> String {
        guard value.allSatisfy({ $0 < 0x80 }) else { return String(decoding: value, as: UTF8.self).uppercased() }
        return String(unsafeUninitializedCapacity: value.count) { buffer in
            for (offset, byte) in value.enumerated() {
                buffer[offset] = byte >= 0x61 && byte <= 0x7A ? byte - 0x20 : byte
            }
            return value.count
        }
    }

    /// `YYYY-MM-DD` or `DD/MM/YYYY` read from the bytes; anything else as `RollFields.date` reads it.
    static func date(_ value: UnsafeBufferPointer<UInt8>) -> LocalDate? {
        if value.count == 10 {
            func digits(_ from: Int, _ count: Int) -> Int? {
                var number = 0
                for index in from..<(from + count) {
                    let digit = Int(value[index]) - 48
                    guard digit >= 0 && digit <= 9 else { return nil }
                    number = number * 10 + digit
                }
                return number
            }
            var parts: (year: Int?, month: Int?, day: Int?) = (nil, nil, nil)
            if value[4] == 0x2D && value[7] == 0x2D {
                parts = (digits(0, 4), digits(5, 2), digits(8, 2))
            } else if value[2] == 0x2F && value[5] == 0x2F {
                parts = (digits(6, 4), digits(3, 2), digits(0, 2))
            }
            if let year = parts.year, let month = parts.month, let day = parts.day {
                guard (1...12).contains(month), day >= 1, day <= LocalDate.days(inMonth: month, of: year) else {
                    return nil
                }
                return LocalDate(year: year, month: month, day: day)
            }
        }
        return RollFields.date(String(decoding: value, as: UTF8.self))
    }
}
