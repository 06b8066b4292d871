/// The national identifiers agencies hold, with their check characters. An identifier that fails its check is
/// never used for an exact match (a typo in it would otherwise join two different children).
public enum Identifier {
    /// NHS number: ten digits, the last a modulus 11 check digit over the first nine (weights 10 down to 2).
    /// A check result of 10 means the number was never issued. Spaces and hyphens are ignored.
    public static func nhsNumber(_ text: String) -> String? {
        let digits = text.filter { $0 != " " && $0 != "-" }
        guard digits.count == 10, digits.allSatisfy(\.isASCIIDigit) else { return nil }
        let values = digits.map { Int($0.asciiValue! - 48) }
        let sum = (0..<9).reduce(0) { $0 + values[$1] * (10 - $1) }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        guard check != 10, check == values[9] else { return nil }
        return digits
    }

    /// The letters DfE uses for UPN check characters and temporary-UPN serials: A–Z without I, O and S.
    static let upnLetters = Array("ABCDEFGHJKLMNPQRTUVWXYZ".utf8)

    /// Unique Pupil Number: a check letter then twelve characters (LA code, establishment, year, serial). In a
    /// temporary UPN the last character is a letter. The check letter is the sum of characters 2–13 weighted
    /// 2 to 13, modulo 23, as a letter of `upnLetters`.
    public static func upn(_ text: String) -> (upn: String, temporary: Bool)? {
        let upn = isCleanUPNText(text.utf8) ? text : text.uppercased().filter { $0 != " " }
        let inPlace: Bool?? = upn.utf8.withContiguousStorageIfAvailable { upnCheck($0) }
        return (inPlace ?? upnCheck(Array(upn.utf8))).map { (upn, $0) }
    }

    /// Printable ASCII without spaces or lower-case letters: a UPN that upper-casing and removing spaces would
    /// leave as it is, so it is checked as given.
    static func isCleanUPNText(_ bytes: some Sequence<UInt8>) -> Bool { bytes.allSatisfy { $0 > 0x20 && $0 < 0x61 } }

    /// The check of a UPN already upper case without spaces: nil when it fails, else whether it is temporary.
    static func upnCheck(_ bytes: some RandomAccessCollection<UInt8>) -> Bool? {
        guard bytes.count == 13 else { return nil }
        var sum = 0
        var temporary = false
        var position = 0
        for byte in bytes {
            defer { position += 1 }
            guard position > 0 else { continue }
            let digit = Int(byte) &- 48
            if digit >= 0 && digit <= 9 {
                sum += digit * (position + 1)
            } else if position == 12, let index = upnLetters.firstIndex(of: byte) {
                sum += index * 13
                temporary = true
            } else {
                return nil
            }
        }
        guard bytes.first == upnLetters[sum % 23] else { return nil }
        return temporary
    }

    /// Police National Computer id, `YY/NNNNNNNC` or `YYYY/NNNNNNNC`: the check character is the two-digit
    /// year followed by the serial (padded to seven digits), modulo 23, as a letter of `Z A B C … Y` without
    /// I, O and S.
    public static func pncID(_ text: String) -> String? {
        let id = text.uppercased().filter { $0 != " " }
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2 || parts[0].count == 4, parts[0].allSatisfy(\.isASCIIDigit),
            let check = parts[1].last, !check.isASCIIDigit
        else { return nil }
        let serial = parts[1].dropLast()
        guard (1...7).contains(serial.count), serial.allSatisfy(\.isASCIIDigit), let number = Int(serial) else {
            return nil
        }
        let year = Int(parts[0].suffix(2))!
        let letters = Array("ZABCDEFGHJKLMNPQRTUVWXY")
        guard letters[(year * 10_000_000 + number) % 23] == check else { return nil }
        return "\(parts[0].suffix(2))/\(String(repeating: "0", count: 7 - serial.count))\(serial)\(check)"
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
