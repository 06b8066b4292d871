import Foundation

/// Why a text is not the JSON a document must be: what is wrong and where (line and column, 1-based, counted
/// in characters of the line). Never quotes a value, which may be personal data; a duplicated member's name
/// is quoted (names are the protocol's, not the person's).
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problem: String
    public var line: Int
    public var column: Int

    public var description: String { "\(problem) at line \(line), column \(column)" }
}

/// JSON as the protocol speaks it (RFC 8259, strictly): read into Foundation's shapes (`[String: Any]`,
/// `[Any]`, `String`, `NSNumber`, `NSNull`), with a member named twice in one object, a lone surrogate, a
/// byte that is not UTF-8, or nesting deeper than 64 refused; written with members in code-point order of
/// their names (RFC 8785's order for the names our documents use), no insignificant white space, and `/`
/// unescaped.
public enum JSONText {
    public static let maximumDepth = 64

    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> Any {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the document") }
        return value
    }

    public static func encode(_ value: Any) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(value, to: &out)
        return out
    }

    // MARK: writing

    private static func write(_ value: Any, to out: inout [UInt8]) {
        // The exact-type checks come first: a cast to a class (`is NSNull`, `as? NSNumber`) would bridge a Swift
        // string, array or dictionary to an object before failing.
        if type(of: value) == NSNull.self {
            out += Array("null".utf8)
            return
        }
        switch value {
        case let string as String:
            write(string: string, to: &out)
        case let object as [String: Any]:
            out.append(UInt8(ascii: "{"))
            var first = true
            for key in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                write(string: key, to: &out)
                out.append(UInt8(ascii: ":"))
                write(object[key]!, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case let array as [Any]:
            out.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(element, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            writeScalar(value, to: &out)
        }
    }

    private static func writeScalar(_ value: Any, to out: inout [UInt8]) {
        let kind = type(of: value)
        if kind == Bool.self, let bool = value as? Bool {
            out += Array((bool ? "true" : "false").utf8)
        } else if kind == Int.self, let int = value as? Int {
            out += Array(String(int).utf8)
        } else if kind == Double.self, let double = value as? Double {
            write(double: double, to: &out)
        } else if let number = value as? NSNumber {
            switch String(cString: number.objCType) {
            case "c", "B": out += Array((number.boolValue ? "true" : "false").utf8)
            case "f", "d": write(double: number.doubleValue, to: &out)
            case "Q", "L", "I", "S", "C": out += Array(String(number.uint64Value).utf8)
            default: out += Array(String(number.int64Value).utf8)
            }
        } else if let int = value as? any BinaryInteger {
            out += Array(String(describing: int).utf8)
        } else {
            preconditionFailure("a document holds strings, numbers, booleans, null, arrays and objects, not \(kind)")
        }
    }

    private static func write(double: Double, to out: inout [UInt8]) {
        precondition(double.isFinite, "a document's numbers are finite")
        if double == double.rounded(), abs(double) < 1e15 {
            out += Array(String(Int64(double)).utf8)
        } else {
            out += Array(String(double).utf8)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func write(string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0x08: out += [92, UInt8(ascii: "b")]
            case 0x0C: out += [92, UInt8(ascii: "f")]
            case 0..<0x20: out += [92, UInt8(ascii: "u"), 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: reading

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ problem: String) -> JSONSyntaxError {
            var line = 1
            var lineStart = 0
            for position in 0..<min(index, bytes.count) where bytes[position] == 0x0A {
                line += 1
                lineStart = position + 1
            }
            let column =
                String(decoding: bytes[lineStart..<min(index, bytes.count)], as: UTF8.self).count + 1
            return JSONSyntaxError(problem: problem, line: line, column: column)
        }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(JSONSyntaxError) -> Any {
            guard index < bytes.count else { throw error("the document ends too soon") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: "t"): return try literal("true", NSNumber(value: true))
            case UInt8(ascii: "f"): return try literal("false", NSNumber(value: false))
            case UInt8(ascii: "n"): return try literal("null", NSNull())
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("expected a value")
            }
        }

        mutating func literal(_ word: String, _ value: Any) throws(JSONSyntaxError) -> Any {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected
            else { throw error("expected a value") }
            index += expected.count
            return value
        }

        mutating func object(depth: Int) throws(JSONSyntaxError) -> [String: Any] {
            guard depth <= JSONText.maximumDepth else { throw error("nested deeper than \(JSONText.maximumDepth)") }
            index += 1
            var object: [String: Any] = [:]
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return object
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                    throw error("expected a member name in quotes")
                }
                let nameAt = index
                let name = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    throw error("expected ':' after a member name")
                }
                index += 1
                skipWhitespace()
                let member = try value(depth: depth)
                if object.updateValue(member, forKey: name) != nil {
                    index = nameAt
                    throw error("the member '\(name.prefix(64))' appears twice")
                }
                if try endsAfterMember(closing: "}") { return object }
            }
        }

        mutating func array(depth: Int) throws(JSONSyntaxError) -> [Any] {
            guard depth <= JSONText.maximumDepth else { throw error("nested deeper than \(JSONText.maximumDepth)") }
            index += 1
            var array: [Any] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return array
            }
            while true {
                skipWhitespace()
                array.append(try value(depth: depth))
                if try endsAfterMember(closing: "]") { return array }
            }
        }

        /// After an object member or an array element: a `,` (another follows) or `closing` (the end), which
        /// is consumed either way.
        mutating func endsAfterMember(closing: Unicode.Scalar) throws(JSONSyntaxError) -> Bool {
            skipWhitespace()
            guard index < bytes.count else { throw error("the document ends too soon") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                return false
            }
            guard bytes[index] == UInt8(ascii: closing) else { throw error("expected ',' or '\(closing)'") }
            index += 1
            return true
        }

        mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw error("a \\u escape needs four hex digits") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - 48
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - 87
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - 55
                default: throw error("a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func string() throws(JSONSyntaxError) -> String {
            index += 1
            var scalars: [UInt8] = []
            var runStart = index
            while true {
                guard index < bytes.count else { throw error("a string is not closed") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    scalars += bytes[runStart..<index]
                    index += 1
                    break
                }
                if byte < 0x20 { throw error("a control character inside a string must be escaped") }
                if byte != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                scalars += bytes[runStart..<index]
                index += 1
                guard index < bytes.count else { throw error("a string is not closed") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(34)
                case UInt8(ascii: "\\"): scalars.append(92)
                case UInt8(ascii: "/"): scalars.append(47)
                case UInt8(ascii: "b"): scalars.append(8)
                case UInt8(ascii: "f"): scalars.append(12)
                case UInt8(ascii: "n"): scalars.append(10)
                case UInt8(ascii: "r"): scalars.append(13)
                case UInt8(ascii: "t"): scalars.append(9)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code) {
                        guard bytes.count - index >= 6, bytes[index] == 92, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("a lone surrogate in a \\u escape") }
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in a \\u escape") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(code) {
                        throw error("a lone surrogate in a \\u escape")
                    }
                    scalars += Array(String(Character(Unicode.Scalar(code)!)).utf8)
                default:
                    index -= 1
                    throw error("an unknown escape in a string")
                }
                runStart = index
            }
            guard let text = String(validating: scalars, as: UTF8.self) else {
                throw error("a string is not valid UTF-8")
            }
            return text
        }

        mutating func number() throws(JSONSyntaxError) -> NSNumber {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                return index - from
            }
            guard index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 else { throw error("a malformed number") }
            if bytes[index] == 48 {
                index += 1
            } else {
                _ = digits()
            }
            var integral = true
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                integral = false
                guard digits() > 0 else { throw error("a malformed number") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                integral = false
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    index += 1
                }
                guard digits() > 0 else { throw error("a malformed number") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if integral, let int = Int(text) { return NSNumber(value: int) }
            guard let double = Double(text), double.isFinite else { throw error("a number out of range") }
            return NSNumber(value: double)
        }
    }
}
