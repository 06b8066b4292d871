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
        var leftover: UInt32 = 0
        let out = values.withUnsafeBufferPointer { values in
            [UInt8](unsafeUninitializedCapacity: length) { out, initialized in
                var accumulator: UInt32 = 0
                var bits: UInt32 = 0
                var o = 0
                for c in input {
                    let v = values[Int(c)]
                    if v == 0xFF {
                        valid = false
                        break
                    }
                    accumulator = accumulator << 6 | UInt32(v)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[o] = UInt8(truncatingIfNeeded: accumulator >> bits)
                        o += 1
                    }
                }
                leftover = accumulator & ((1 << bits) - 1)
                initialized = o
            }
        }
        // Leftover bits must be zero, or two encodings would decode to the same bytes.
        guard valid, leftover == 0, out.count == length else { return nil }
        return out
    }
}
