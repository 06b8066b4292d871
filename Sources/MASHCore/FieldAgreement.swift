/// How closely two names agree, best first. Matching weighs each level by how often it is seen between two
/// records of the same person against two records of different people (`MatchWeights`).
public enum NameAgreement: Int, CaseIterable, Sendable {
    case exact
    /// A known variant: a nickname of the same name, a part of a double-barrelled surname, a recorded alias,
    /// or the same first of several forenames.
    case variant
    /// One letter wrong, missing, added, or two neighbours swapped: a slip of the keyboard or the pen.
    case oneEdit
    /// Spelled differently but sounding the same (the same NYSIIS code): Phillips and Philips, Stephen and
    /// Stefen.
    case soundsAlike
    /// Close by Jaro–Winkler (≥ 0.85) without being any of the above.
    case similar
    case different
}

/// How closely two dates of birth agree, best first.
public enum DateAgreement: Int, CaseIterable, Sendable {
    case exact
    case dayAndMonthSwapped
    /// One digit of the eight wrong, or two neighbouring digits swapped.
    case oneDigit
    /// The same day and month in another year within two.
    case nearbyYear
    case different
}

/// How closely two postcodes agree, best first.
public enum PostcodeAgreement: Int, CaseIterable, Sendable {
    case exact
    /// One character wrong, missing or added.
    case oneCharacter
    /// The same sector: outward code and the inward code's digit (about 3,000 addresses).
    case sameSector
    /// The same district: outward code.
    case sameDistrict
    case different
}

/// The field-by-field comparison of two descriptions of a person; nil where either lacks the field.
public struct Comparison: Sendable, Equatable {
    public var forename: NameAgreement?
    public var surname: NameAgreement?
    /// Forename and surname compared the wrong way round, because that agreed better.
    public var namesSwapped = false
    public var dateOfBirth: DateAgreement?
    public var postcode: PostcodeAgreement?
    public var sexAgrees: Bool?
    public var identifiersAgreeing = 0
    public var identifiersDisagreeing = 0

    public init() {}
}

enum Agreement {
    static func name(
        _ x: String, _ xPhonetic: String, _ xVariants: Set<String>, _ y: String, _ yPhonetic: String,
        _ yVariants: Set<String>
    ) -> NameAgreement {
        if x == y { return .exact }
        if xVariants.contains(y) || yVariants.contains(x) || !xVariants.isDisjoint(with: yVariants) { return .variant }
        if min(x.utf8.count, y.utf8.count) >= 3 && withinOneEdit(x, y) { return .oneEdit }
        if !xPhonetic.isEmpty && xPhonetic == yPhonetic { return .soundsAlike }
        if JaroWinkler.similarity(x, y) >= 0.85 { return .similar }
        return .different
    }

    static func date(_ x: LocalDate, _ y: LocalDate) -> DateAgreement {
        if x == y { return .exact }
        if x.year == y.year && x.month == y.day && x.day == y.month { return .dayAndMonthSwapped }
        // The eight digits YYYYMMDD, last first.
        var a = x.year * 10_000 + x.month * 100 + x.day
        var b = y.year * 10_000 + y.month * 100 + y.day
        var differing: [(position: Int, a: Int, b: Int)] = []
        for position in 0..<8 where differing.count <= 2 {
            if a % 10 != b % 10 { differing.append((position, a % 10, b % 10)) }
            a /= 10
            b /= 10
        }
        if differing.count == 1 { return .oneDigit }
        if differing.count == 2 && differing[1].position == differing[0].position + 1
            && differing[0].a == differing[1].b && differing[1].a == differing[0].b
        {
            return .oneDigit
        }
        if x.month == y.month && x.day == y.day && abs(x.year - y.year) <= 2 { return .nearbyYear }
        return .different
    }

    /// Postcodes without spaces, upper case. Sector and district only for the UK shape (inward code: a digit
    /// and two letters after an outward code of two to four characters).
    static func postcode(_ x: String, _ y: String) -> PostcodeAgreement {
        if x == y { return .exact }
        if withinOneEdit(x, y) { return .oneCharacter }
        guard let (xOut, xSector) = ukParts(x), let (yOut, ySector) = ukParts(y), xOut == yOut else {
            return .different
        }
        return xSector == ySector ? .sameSector : .sameDistrict
    }

    static func ukParts(_ compact: String) -> (outward: Substring, sector: Character)? {
        let characters = Array(compact)
        guard (5...7).contains(characters.count) else { return nil }
        let inward = characters.suffix(3)
        guard let digit = inward.first, digit.isNumber, inward.dropFirst().allSatisfy(\.isLetter) else { return nil }
        return (compact.dropLast(3), digit)
    }

    /// True when one substitution, insertion, deletion or swap of neighbours turns `a` into `b` (or they are
    /// equal).
    static func withinOneEdit(_ a: String, _ b: String) -> Bool {
        let s = Array(a.utf8)
        let t = Array(b.utf8)
        if abs(s.count - t.count) > 1 { return false }
        var i = 0
        while i < s.count && i < t.count && s[i] == t[i] { i += 1 }
        if i == s.count && i == t.count { return true }
        if s.count == t.count {
            if s[(i + 1)...] == t[(i + 1)...] { return true }
            return i + 1 < s.count && s[i] == t[i + 1] && s[i + 1] == t[i] && s[(i + 2)...] == t[(i + 2)...]
        }
        return s.count > t.count ? s[(i + 1)...] == t[i...] : s[i...] == t[(i + 1)...]
    }
}

/// NYSIIS (New York State Identification and Intelligence System) phonetic code of a lower-case ASCII name:
/// names that sound alike get the same code (Clarke and Clark, Philips and Phillips), so matching can block
/// and compare on it. The original algorithm, rewriting the name as it goes, without the truncation to six
/// characters. (jellyfish, which Python's recordlinkage uses, keeps the original letter where H and W repeat
/// the one before, so about 4 % of names code differently there.)
public enum NYSIIS {
    public static func code(_ name: String) -> String {
        var s = Array(name.utf8.filter { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") })
        guard !s.isEmpty else { return "" }
        func starts(_ prefix: String) -> Bool { s.starts(with: prefix.utf8) }
        func ends(_ suffix: String) -> Bool {
            s.count >= suffix.utf8.count && s.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
        }
        func replacePrefix(_ count: Int, _ with: String) { s.replaceSubrange(0..<count, with: with.utf8) }
        if starts("mac") {
            replacePrefix(3, "mcc")
        } else if starts("kn") {
            replacePrefix(2, "nn")
        } else if starts("k") {
            replacePrefix(1, "c")
        } else if starts("ph") || starts("pf") {
            replacePrefix(2, "ff")
        } else if starts("sch") {
            replacePrefix(3, "sss")
        }
        if ends("ee") || ends("ie") {
            s.replaceSubrange((s.count - 2)..., with: "y".utf8)
        } else if ends("dt") || ends("rt") || ends("rd") || ends("nt") || ends("nd") {
            s.replaceSubrange((s.count - 2)..., with: "d".utf8)
        }
        let vowels: Set<UInt8> = Set("aeiou".utf8)
        var key: [UInt8] = [s[0]]
        var i = 1
        while i < s.count {
            var replacement: [UInt8]
            let c = s[i]
            let next: UInt8? = i + 1 < s.count ? s[i + 1] : nil
            if c == UInt8(ascii: "e") && next == UInt8(ascii: "v") {
                replacement = Array("af".utf8)
            } else if vowels.contains(c) {
                replacement = [UInt8(ascii: "a")]
            } else if c == UInt8(ascii: "q") {
                replacement = [UInt8(ascii: "g")]
            } else if c == UInt8(ascii: "z") {
                replacement = [UInt8(ascii: "s")]
            } else if c == UInt8(ascii: "m") {
                replacement = [UInt8(ascii: "n")]
            } else if c == UInt8(ascii: "k") {
                replacement = next == UInt8(ascii: "n") ? [UInt8(ascii: "n")] : [UInt8(ascii: "c")]
            } else if c == UInt8(ascii: "s") && next == UInt8(ascii: "c") && i + 2 < s.count
                && s[i + 2] == UInt8(ascii: "h")
            {
                replacement = Array("sss".utf8)
            } else if c == UInt8(ascii: "p") && next == UInt8(ascii: "h") {
                replacement = Array("ff".utf8)
            } else if c == UInt8(ascii: "h")
                && (!vowels.contains(s[i - 1]) || next.map { !vowels.contains($0) } ?? true)
            {
                replacement = [s[i - 1]]
            } else if c == UInt8(ascii: "w") && vowels.contains(s[i - 1]) {
                replacement = [s[i - 1]]
            } else {
                replacement = [c]
            }
            s.replaceSubrange(i..<(i + replacement.count), with: replacement)
            for r in replacement where r != key.last { key.append(r) }
            i += replacement.count
        }
        if key.count > 1 && key.last == UInt8(ascii: "s") { key.removeLast() }
        if key.count > 2 && key.suffix(2).elementsEqual("ay".utf8) {
            key.removeLast(2)
            key.append(UInt8(ascii: "y"))
        }
        if key.count > 1 && key.last == UInt8(ascii: "a") { key.removeLast() }
        return String(decoding: key, as: UTF8.self)
    }
}
