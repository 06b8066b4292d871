/// A CSV file read by RFC 4180's rules (quoted fields may hold commas, quotes doubled, line breaks), with the
/// header row naming the columns. Errors give the line, since partners fix their exports by line number.
public struct CSVTable: Sendable {
    public struct Row: Sendable {
        /// The line of the file the row starts on (1 is the header).
        public var line: Int
        public var values: [String]
    }

    public var columns: [String]
    public var rows: [Row]

    public func column(_ name: String) -> Int? { columns.firstIndex(of: name) }

    /// Header names as partners' exports vary them: case, spaces and underscores ignored.
    public static func sameColumn(_ a: String, _ b: String) -> Bool {
        func normal(_ name: String) -> String { name.lowercased().filter { $0 != " " && $0 != "_" } }
        return normal(a) == normal(b)
    }

    public init(parsing bytes: [UInt8], source: String) throws {
        var records: [Row] = []
        var field: [UInt8] = []
        var record: [String] = []
        var line = 1
        var recordLine = 1
        var quoted = false
        var fieldStarted = false
        var index = bytes.startIndex
        // A UTF-8 byte order mark, as spreadsheet exports write.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }

        func endField() {
            record.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            fieldStarted = false
        }
        func endRecord() {
            endField()
            if !(record.count == 1 && record[0].isEmpty) { records.append(Row(line: recordLine, values: record)) }
            record.removeAll(keepingCapacity: true)
        }

        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.endIndex && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard !fieldStarted else {
                    throw DocumentError(
                        source: source, field: "line \(line)", problem: "a quote inside an unquoted field")
                }
                quoted = true
                fieldStarted = true
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\r"):
                continue
            case UInt8(ascii: "\n"):
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(byte)
                fieldStarted = true
            }
        }
        if quoted {
            throw DocumentError(
                source: source, field: "line \(recordLine)", problem: "a quoted field is not closed before the end")
        }
        if fieldStarted || !record.isEmpty { endRecord() }
        guard let header = records.first else {
            throw DocumentError(source: source, field: "", problem: "the file is empty (a header row is required)")
        }
        columns = header.values.map { $0.trimmingSpaces }
        rows = Array(records.dropFirst())
        for row in rows where row.values.count != columns.count {
            throw DocumentError(
                source: source, field: "line \(row.line)",
                problem: "has \(row.values.count) fields; the header has \(columns.count)")
        }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\t" }) else { return "" }
        let last = scalars.lastIndex(where: { $0 != " " && $0 != "\t" })!
        return String(scalars[first...last])
    }
}
