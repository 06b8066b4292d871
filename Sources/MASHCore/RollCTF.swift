/// Reads a roll in the Common Transfer File shape straight from its bytes into pupils, for the files schools'
/// systems write: UTF-8 XML 1.0 of elements, attributes, text, the five predefined entities, character
/// references and comments. One pass; a pupil's values are copied into one scratch buffer; no `String` per
/// element, no dictionary per pupil.
///
/// It reads what `CTFReader` (Foundation's `XMLParser`) reads, by the same rules: which elements count, a
/// pupil's own school history entry, the last of a repeated element, the text after an element's last child.
/// For anything else it returns nil and `SchoolRoll(ctf:)` reads the file with `XMLParser`: a DOCTYPE, CDATA,
/// another encoding, a name with a prefix or outside ASCII, a lone `\r`, and every fault, XML or value. So libxml2 still decides what is well-formed and every
/// refusal keeps its message (line, column, parser error); this reader must only never accept what
/// `XMLParser` refuses, nor read a value differently. `RollCTFReaderTests` holds the two together on thousands
/// of messy files.
struct RollCTFReader {
    /// What an open element is to the roll, from its name and its parent's.
    private enum Role: Equatable {
        case root, header, qualifier, sourceSchool, headerURN, pupilData, pupil
        /// A value of the pupil, by `SchoolRoll.csvColumns` position.
        case pupilField(Int)
        case basicDetails, schoolHistory, historySchool
        /// A value of a school history entry, by `SchoolEntry` position.
        case schoolField(Int)
        /// Inside the pupil's `Address`; a `PostCode` at any depth there is the pupil's postcode.
        case address(postcode: Bool)
        case other
    }

    private struct Element {
        var name: Range<Int>
        var role: Role
    }

    /// A pupil's `SchoolHistory/School` entry: URN, EntryDate, LeavingDate, LeavingReason, DestinationURN, as
    /// ranges of `scratch`.
    private struct SchoolEntry {
        static let names = ["URN", "EntryDate", "LeavingDate", "LeavingReason", "DestinationURN"]
        var values: [Range<Int>?] = Array(repeating: nil, count: 5)
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private let source: String
    private var index = 0
    private var open: [Element] = []
    /// The character data since the last tag, decoded, while the innermost element is one the roll reads.
    private var text: [UInt8] = []
    private var qualifier: [UInt8]?
    private var urn: [UInt8]?
    private var pupils: [RollPupil] = []
    private var inPupil = false
    private var pupilCount = 0
    private var pupilLine = 0
    /// The current pupil's values, and its school history entries' values.
    private var scratch: [UInt8] = []
    private var fields: [Range<Int>?] = Array(repeating: nil, count: SchoolRoll.csvColumns.count)
    private var school = SchoolEntry()
    private var schools: [SchoolEntry] = []
    private var line = 1
    private var lineCounted = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>, source: String) {
        self.bytes = bytes
        self.source = source
    }

    /// The roll, or nil when the file is one for `XMLParser` (unusual or at fault).
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, source: String) -> SchoolRoll? {
        guard isPlainUTF8Text(bytes) else { return nil }
        var reader = RollCTFReader(bytes, source: source)
        return reader.read()
    }

    /// Valid UTF-8 of XML characters only, with no `\r` but before `\n` (`XMLParser` reads a lone one as a new
    /// line in text but not in its line count).
    static func isPlainUTF8Text(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F {
                index += 1
                continue
            }
            switch byte {
            case 0x09, 0x0A:
                index += 1
            case 0x0D:
                guard index + 1 < count, bytes[index + 1] == 0x0A else { return false }
                index += 1
            case 0xC2...0xDF:
                guard index + 1 < count, bytes[index + 1] & 0xC0 == 0x80 else { return false }
                index += 2
            case 0xE0...0xEF:
                guard index + 2 < count, bytes[index + 1] & 0xC0 == 0x80, bytes[index + 2] & 0xC0 == 0x80 else {
                    return false
                }
                let scalar =
                    UInt32(byte & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F)
                guard scalar >= 0x800, !(0xD800...0xDFFF).contains(scalar), scalar < 0xFFFE else { return false }
                index += 3
            case 0xF0...0xF4:
                guard index + 3 < count, bytes[index + 1] & 0xC0 == 0x80, bytes[index + 2] & 0xC0 == 0x80,
                    bytes[index + 3] & 0xC0 == 0x80
                else { return false }
                let scalar =
                    UInt32(byte & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12
                    | UInt32(bytes[index + 2] & 0x3F) << 6 | UInt32(bytes[index + 3] & 0x3F)
                guard scalar >= 0x10000, scalar <= 0x10FFFF else { return false }
                index += 4
            default:
                return false
            }
        }
        return true
    }

    // MARK: the document

    private mutating func read() -> SchoolRoll? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        guard declaration(), miscellany(), at("<"), element(), miscellany(), index == bytes.count else { return nil }
        guard let qualifierBytes = qualifier, let urnBytes = urn, !urnBytes.isEmpty,
            let qualifier = SchoolRoll.Qualifier(rawValue: String(decoding: qualifierBytes, as: UTF8.self).lowercased())
        else { return nil }
        return SchoolRoll(urn: String(decoding: urnBytes, as: UTF8.self), qualifier: qualifier, pupils: pupils)
    }

    /// `<?xml version="1.0" (encoding="UTF-8")? (standalone="yes|no")? ?>` at the start, or nothing.
    private mutating func declaration() -> Bool {
        guard at("<?xml"), index + 5 < bytes.count, isSpace(bytes[index + 5]) else { return !at("<?") }
        index += 5
        var expected = ["version", "encoding", "standalone"][...]
        while true {
            let spaced = skipSpaces()
            if at("?>") {
                index += 2
                return expected.count < 3
            }
            guard spaced, let name = readName() else { return false }
            while let next = expected.first, !matches(name, next) { expected.removeFirst() }
            guard let pseudo = expected.popFirst(), pseudo == "version" || expected.count < 2 else { return false }
            skipSpaces()
            guard at("=") else { return false }
            index += 1
            skipSpaces()
            guard let value = quoted() else { return false }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self)
            switch pseudo {
            case "version": guard text == "1.0" else { return false }
            case "encoding": guard text.lowercased() == "utf-8" else { return false }
            default: guard text == "yes" || text == "no" else { return false }
            }
        }
    }

    /// Spaces, comments and processing instructions outside the root element.
    private mutating func miscellany() -> Bool {
        while true {
            skipSpaces()
            if at("<!--") {
                guard comment() else { return false }
            } else if at("<?") {
                guard instruction() else { return false }
            } else {
                return true
            }
        }
    }

    /// The root element and everything in it, from its `<`.
    private mutating func element() -> Bool {
        guard startTag() else { return false }
        while !open.isEmpty {
            guard index < bytes.count else { return false }
            if bytes[index] != UInt8(ascii: "<") {
                guard characters() else { return false }
            } else if at("</") {
                guard endTag() else { return false }
            } else if at("<!--") {
                guard comment() else { return false }
            } else if at("<?") {
                guard instruction() else { return false }
            } else if at("<!") {
                return false
            } else {
                guard startTag() else { return false }
            }
        }
        return true
    }

    /// `<name attributes>` or `<name attributes/>`, from its `<`.
    private mutating func startTag() -> Bool {
        index += 1
        guard let name = readName() else { return false }
        var attributes: [Range<Int>] = []
        while true {
            let spaced = skipSpaces()
            if at(">") || at("/>") { break }
            guard spaced, let attribute = readName() else { return false }
            for earlier in attributes where same(earlier, attribute) { return false }
            attributes.append(attribute)
            skipSpaces()
            guard at("=") else { return false }
            index += 1
            skipSpaces()
            guard let value = quoted() else { return false }
            for position in value where bytes[position] == UInt8(ascii: "<") { return false }
            var position = value.lowerBound
            while position < value.upperBound {
                if bytes[position] == UInt8(ascii: "&") {
                    var ignored: [UInt8] = []
                    guard let end = reference(at: position, into: &ignored), end <= value.upperBound else {
                        return false
                    }
                    position = end
                } else {
                    position += 1
                }
            }
        }
        let empty = bytes[index] == UInt8(ascii: "/")
        index += empty ? 2 : 1
        guard begin(name) else { return false }
        return empty ? end() : true
    }

    /// `</name>`, naming the innermost open element, from its `<`.
    private mutating func endTag() -> Bool {
        index += 2
        guard let name = readName(), let innermost = open.last, same(name, innermost.name) else { return false }
        skipSpaces()
        guard at(">") else { return false }
        index += 1
        return end()
    }

    /// Character data up to the next `<`: references decoded, `\r\n` read as `\n`, kept only when the innermost
    /// element is one the roll reads.
    private mutating func characters() -> Bool {
        let keep = open.last.map { Self.reads($0.role) } ?? false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "<"):
                return true
            case UInt8(ascii: "&"):
                var decoded: [UInt8] = []
                guard let end = reference(at: index, into: &decoded) else { return false }
                if keep { text.append(contentsOf: decoded) }
                index = end
            case UInt8(ascii: "]"):
                if at("]]>") { return false }
                if keep { text.append(byte) }
                index += 1
            case 0x0D:
                index += 1
            default:
                if keep { text.append(byte) }
                index += 1
            }
        }
        return true
    }

    /// `<!-- ... -->`, from its `<`: no `--` inside.
    private mutating func comment() -> Bool {
        index += 4
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "-") && bytes[index + 1] == UInt8(ascii: "-") {
                guard index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: ">") else { return false }
                index += 3
                return true
            }
            index += 1
        }
        return false
    }

    /// `<?target data?>`, from its `<`; ignored, as `CTFReader` ignores it.
    private mutating func instruction() -> Bool {
        index += 2
        guard readName() != nil else { return false }
        if !at("?>") {
            guard skipSpaces() else { return false }
            while index < bytes.count && !at("?>") { index += 1 }
            guard index < bytes.count else { return false }
        }
        index += 2
        return true
    }

    /// The file with a space written into every `<?target?>` (a processing instruction without data), which
    /// Foundation's `XMLParser` on Linux cannot take: it crashes the process (a null pointer given to
    /// `strlen`). With the space it is the same instruction with empty data, and its line numbers are kept.
    static func spacingEmptyInstructions(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var copied = 0
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "<"), bytes[index + 1] == UInt8(ascii: "?") else {
                index += 1
                continue
            }
            var end = index + 2
            while end < bytes.count, !isSpaceOrMarkup(bytes[end]) { end += 1 }
            if end > index + 2, end + 1 < bytes.count, bytes[end] == UInt8(ascii: "?"),
                bytes[end + 1] == UInt8(ascii: ">")
            {
                out.append(contentsOf: bytes[copied..<end])
                out.append(0x20)
                copied = end
            }
            index = end
        }
        guard copied > 0 else { return bytes }
        out.append(contentsOf: bytes[copied...])
        return out
    }

    /// Where a file that should be UTF-8 is not: the line and column of its first byte that cannot be, or nil.
    /// A file whose XML declaration names a single-byte encoding (ISO 8859, Windows 125x), or with a UTF-16 byte
    /// order mark, is `XMLParser`'s to transcode; one naming UTF-16 without the mark, or an encoding libxml2 does
    /// not know, is read as UTF-8 by libxml2 and so checked. Foundation's `XMLParser` on Linux crashes the process on a name holding bytes that are
    /// not UTF-8 (libxml2 reports the fault and goes on; the name cannot be made a `String`).
    static func notUTF8(_ bytes: [UInt8]) -> (line: Int, column: Int)? {
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) { return nil }
        let head = String(decoding: bytes.prefix(200), as: UTF8.self)
        if head.hasPrefix("<?xml") || head.hasPrefix("\u{FEFF}<?xml"),
            let close = head.range(of: "?>"), let encoding = head[..<close.lowerBound].range(of: "encoding")
        {
            let rest = head[encoding.upperBound..<close.lowerBound].drop { $0 == " " || $0 == "=" }
            if let quote = rest.first, quote == "\"" || quote == "'" {
                let declared = rest.dropFirst().prefix { $0 != quote }.lowercased()
                let singleByte = ["iso-8859-", "iso8859-", "latin", "windows-125", "cp125"]
                if singleByte.contains(where: declared.hasPrefix) { return nil }
            }
        }
        var line = 1
        var lineStart = 0
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte == 0x0A {
                    line += 1
                    lineStart = index + 1
                }
                index += 1
                continue
            }
            let length =
                byte >= 0xF0 && byte <= 0xF4
                ? 4 : byte >= 0xE0 && byte <= 0xEF ? 3 : byte >= 0xC2 && byte <= 0xDF ? 2 : 0
            let sequence = bytes[index..<min(bytes.count, index + max(length, 1))]
            guard length > 0, sequence.count == length, String(validating: sequence, as: UTF8.self) != nil else {
                return (line, index - lineStart + 1)
            }
            index += length
        }
        return nil
    }

    private static func isSpaceOrMarkup(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D || byte == UInt8(ascii: "?")
            || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">")
    }

    /// A predefined entity or character reference at `start`, appended decoded; the index after its `;`.
    private func reference(at start: Int, into out: inout [UInt8]) -> Int? {
        var end = start + 1
        while end < bytes.count && end - start <= 12 && bytes[end] != UInt8(ascii: ";") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { return nil }
        let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<end])
        switch String(decoding: body, as: UTF8.self) {
        case "amp": out.append(UInt8(ascii: "&"))
        case "lt": out.append(UInt8(ascii: "<"))
        case "gt": out.append(UInt8(ascii: ">"))
        case "apos": out.append(UInt8(ascii: "'"))
        case "quot": out.append(UInt8(ascii: "\""))
        case let number where number.hasPrefix("#"):
            let hex = number.hasPrefix("#x")
            let digits = number.dropFirst(hex ? 2 : 1)
            guard !digits.isEmpty, digits.count <= 7,
                digits.allSatisfy({ hex ? $0.isHexDigit : ("0"..."9").contains($0) }),
                let value = UInt32(digits, radix: hex ? 16 : 10),
                value == 0x09 || value == 0x0A || value == 0x0D || (0x20...0xD7FF).contains(value)
                    || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value),
                let scalar = Unicode.Scalar(value)
            else { return nil }
            out.append(contentsOf: String(Character(scalar)).utf8)
        default:
            return nil
        }
        return end + 1
    }

    // MARK: the roll

    private static func reads(_ role: Role) -> Bool {
        switch role {
        case .qualifier, .headerURN, .pupilField, .schoolField, .address(postcode: true): true
        default: false
        }
    }

    /// An element opens: its role from its parent's, as `CTFReader` matches paths.
    private mutating func begin(_ name: Range<Int>) -> Bool {
        let parent = open.last?.role
        let role: Role
        switch parent {
        case nil:
            guard matches(name, "CTfile") else { return false }
            role = .root
        case .root?:
            role = matches(name, "Header") ? .header : matches(name, "CTFpupilData") ? .pupilData : .other
        case .header?:
            role =
                matches(name, "DocumentQualifier") ? .qualifier : matches(name, "SourceSchool") ? .sourceSchool : .other
        case .sourceSchool?:
            role = matches(name, "URN") ? .headerURN : .other
        case .pupilData?:
            role = matches(name, "Pupil") ? .pupil : .other
        case .pupil?:
            if let column = [0, 1, 2, 3, 5].first(where: { matches(name, SchoolRoll.csvColumns[$0]) }) {
                role = .pupilField(column)
            } else if matches(name, "BasicDetails") {
                role = .basicDetails
            } else if matches(name, "SchoolHistory") {
                role = .schoolHistory
            } else {
                role = matches(name, "Address") ? .address(postcode: false) : .other
            }
        case .basicDetails?:
            role = matches(name, "NCyearActual") ? .pupilField(6) : .other
        case .schoolHistory?:
            role = matches(name, "School") ? .historySchool : .other
        case .historySchool?:
            role = SchoolEntry.names.firstIndex { matches(name, $0) }.map { .schoolField($0) } ?? .other
        case .address?:
            role = .address(postcode: matches(name, "PostCode") || matches(name, "Postcode"))
        default:
            role = .other
        }
        if role == .pupil {
            inPupil = true
            pupilCount += 1
            pupilLine = lineAt(index - 1)
            scratch.removeAll(keepingCapacity: true)
            for column in fields.indices { fields[column] = nil }
            schools.removeAll(keepingCapacity: true)
        } else if inPupil, matches(name, "School"), let parentName = open.last?.name,
            matches(parentName, "SchoolHistory")
        {
            school = SchoolEntry()
        }
        open.append(Element(name: name, role: role))
        text.removeAll(keepingCapacity: true)
        return true
    }

    /// The innermost element closes: its text is the value it stands for.
    private mutating func end() -> Bool {
        let closing = open.removeLast()
        defer { text.removeAll(keepingCapacity: true) }
        switch closing.role {
        case .qualifier: qualifier = trimmed(text)
        case .headerURN: urn = trimmed(text)
        case .pupilField(let column): fields[column] = kept(text)
        case .address(postcode: true): fields[10] = kept(text)
        case .schoolField(let position): school.values[position] = kept(text)
        case .historySchool: schools.append(school)
        case .pupil: return finishPupil()
        default: break
        }
        return true
    }

    private mutating func finishPupil() -> Bool {
        inPupil = false
        func urnOf(_ entry: SchoolEntry) -> [UInt8]? {
            entry.values[0].map { trimmed(Array(scratch[$0])) }
        }
        let own = schools.last { urnOf($0) == urn } ?? schools.last ?? SchoolEntry()
        for (column, position) in [(4, 1), (7, 2), (8, 3), (9, 4)] { fields[column] = own.values[position] }
        let locator = "Pupil[\(pupilCount)] (line \(pupilLine))"
        guard
            let pupil = try? RollPupil(
                values: Values(fields: fields, scratch: scratch), locator: locator, source: source)
        else { return false }
        pupils.append(pupil)
        return true
    }

    private struct Values: RollValues {
        let fields: [Range<Int>?]
        let scratch: [UInt8]

        func withValue<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
            guard let range = fields[column] else { return nil }
            return try scratch.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range])) }
        }
    }

    private mutating func kept(_ value: [UInt8]) -> Range<Int> {
        let start = scratch.count
        scratch.append(contentsOf: value)
        return start..<scratch.count
    }

    // MARK: bytes

    /// The line `position` is on, as libxml2 counts (one per `\n`).
    private mutating func lineAt(_ position: Int) -> Int {
        while lineCounted < position {
            if bytes[lineCounted] == 0x0A { line += 1 }
            lineCounted += 1
        }
        return line
    }

    private func at(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] { return false }
        return true
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D }

    @discardableResult
    private mutating func skipSpaces() -> Bool {
        let start = index
        while index < bytes.count && isSpace(bytes[index]) { index += 1 }
        return index > start
    }

    /// A name in ASCII letters, digits, `_`, `-` and `.`, not beginning `xml` (reserved) nor with a digit,
    /// `-` or `.`; anything else is left to `XMLParser`.
    private mutating func readName() -> Range<Int>? {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            let letter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || byte == UInt8(ascii: "_")
            let other = (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            guard letter || (other && index > start) else { break }
            index += 1
        }
        guard index > start, index < bytes.count else { return nil }
        let next = bytes[index]
        guard
            isSpace(next) || next == UInt8(ascii: ">") || next == UInt8(ascii: "/") || next == UInt8(ascii: "=")
                || next == UInt8(ascii: "?")
        else { return nil }
        if index - start >= 3, bytes[start] | 0x20 == 0x78, bytes[start + 1] | 0x20 == 0x6D,
            bytes[start + 2] | 0x20 == 0x6C
        {
            return nil
        }
        return start..<index
    }

    /// A value in `"` or `'`: the range inside the quotes.
    private mutating func quoted() -> Range<Int>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
            return nil
        }
        let quote = bytes[index]
        let start = index + 1
        var end = start
        while end < bytes.count && bytes[end] != quote { end += 1 }
        guard end < bytes.count else { return nil }
        index = end + 1
        return start..<end
    }

    private func matches(_ name: Range<Int>, _ literal: String) -> Bool {
        name.count == literal.utf8.count && zip(bytes[name], literal.utf8).allSatisfy { $0 == $1 }
    }

    private func same(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && zip(bytes[a], bytes[b]).allSatisfy { $0 == $1 }
    }

    private func trimmed(_ value: [UInt8]) -> [UInt8] {
        value.withUnsafeBufferPointer { buffer in
            var start = 0
            var end = buffer.count
            while start < end && (buffer[start] == 0x20 || buffer[start] == 0x09) { start += 1 }
            while end > start && (buffer[end - 1] == 0x20 || buffer[end - 1] == 0x09) { end -= 1 }
            return Array(buffer[start..<end])
        }
    }
}
