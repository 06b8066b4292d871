/// base64url without padding (RFC 7515 §2), as every part of a compact JWS or JWE is encoded. Byte-level:
/// Foundation's base64 plus string replacement cost more than the cryptography.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        let length = (bytes.count * 4 + 2) / 3
        guard length > 0 else { return "" }
        // Written straight into the string's storage: an intermediate array per call cost a tenth of a seal.
        return bytes.withUnsafeBufferPointer { input in
            alphabet.withUnsafeBufferPointer { alphabet in
                String(unsafeUninitializedCapacity: length) { out in
                    var i = 0
                    var o = 0
                    while i + 3 <= input.count {
                        let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                        out[o] = alphabet[Int(n >> 18)]
                        out[o + 1] = alphabet[Int(n >> 12 & 63)]
                        out[o + 2] = alphabet[Int(n >> 6 & 63)]
                        out[o + 3] = alphabet[Int(n & 63)]
                        i += 3
                        o += 4
                    }
                    let rest = input.count - i
                    if rest > 0 {
                        let n = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
                        out[o] = alphabet[Int(n >> 18)]
                        out[o + 1] = alphabet[Int(n >> 12 & 63)]
                        if rest == 2 { out[o + 2] = alphabet[Int(n >> 6 & 63)] }
                    }
                    return length
                }
            }
        }
    }

    /// The decoded bytes, or nil for anything that is not canonical unpadded base64url.
    static func decode(_ text: Substring) -> [UInt8]? {
        decode(bytes: text.utf8)
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> [UInt8]? {
        decode(bytes: bytes)
    }

    private static func decode(bytes input: some Collection<UInt8>) -> [UInt8]? {
        if let decoded = input.withContiguousStorageIfAvailable({ decode(buffer: $0) }) { return decoded }
        return Array(input).withUnsafeBufferPointer { decode(buffer: $0) }
    }

    private static func decode(buffer input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 != 1 else { return nil }
        let length = input.count * 3 / 4
        var valid = true
        let out = values.withUnsafeBufferPointer { values in
            [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
                // Four characters (24 bits) at a time; a character outside the alphabet maps to 0xFF, whose top
                // bit no valid value has.
                func value(_ index: Int) -> UInt32 { UInt32(values[Int(input[index])]) }
                var i = 0
                var o = 0
                while i + 4 <= input.count {
                    let a = value(i), b = value(i + 1), c = value(i + 2), d = value(i + 3)
                    guard (a | b | c | d) & 0x80 == 0 else {
                        valid = false
                        break
                    }
                    let n = a << 18 | b << 12 | c << 6 | d
                    out[o] = UInt8(truncatingIfNeeded: n >> 16)
                    out[o + 1] = UInt8(truncatingIfNeeded: n >> 8)
                    out[o + 2] = UInt8(truncatingIfNeeded: n)
                    i += 4
                    o += 3
                }
                let rest = input.count - i
                if valid && rest >= 2 {
                    let a = value(i), b = value(i + 1), c = rest == 3 ? value(i + 2) : 0
                    // Leftover bits must be zero, or two encodings would decode to the same bytes.
                    if (a | b | c) & 0x80 != 0 || (rest == 2 ? b & 0x0F : c & 0x03) != 0 {
                        valid = false
                    } else {
                        out[o] = UInt8(truncatingIfNeeded: a << 2 | b >> 4)
                        o += 1
                        if rest == 3 {
                            out[o] = UInt8(truncatingIfNeeded: b << 4 | c >> 2)
                            o += 1
                        }
                    }
                }
                initialized = o
            }
        }
        guard valid, out.count == length else { return nil }
        return out
    }
}
