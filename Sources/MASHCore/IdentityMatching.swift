import Foundation

/// How sure a search is that a record is the person asked about.
public enum MatchBand: String, Sendable, CaseIterable, Comparable {
    case match
    case potentialMatch = "potential-match"
    case noMatch = "no-match"

    private var rank: Int {
        switch self {
        case .match: 2
        case .potentialMatch: 1
        case .noMatch: 0
        }
    }

    public static func < (a: MatchBand, b: MatchBand) -> Bool { a.rank < b.rank }
}

/// One scored comparison: the band, the score in 0…1 and whether other records scored as strongly (a
/// many-match, which is never reported as a match: the researcher must say which record is the child).
public struct MatchAssessment: Sendable, Equatable {
    public var band: MatchBand
    public var score: Double
    public var manyMatch: Bool

    public init(band: MatchBand, score: Double, manyMatch: Bool = false) {
        self.band = band
        self.score = score
        self.manyMatch = manyMatch
    }
}

/// A person reduced to what matching compares: names folded to lower-case ASCII without titles or
/// punctuation, nickname groups, checked identifiers.
public struct MatchKey: Sendable {
    var forenames: [String]
    var forename: String?
    var forenameGroup: String?
    var surname: String?
    var surnameTokens: [String]
    var aliases: [String]
    var dateOfBirth: LocalDate?
    var gender: Character?
    var nhsNumber: String?
    var upn: String?
    var pncID: String?
    var postcode: String?
    var outwardCode: String?

    public init(_ person: Person) {
        forenames = Names.tokens(person.forename)
        forename = forenames.isEmpty ? nil : forenames.joined()
        forenameGroup = forenames.first.map(Names.nicknameGroup)
        surnameTokens = Names.tokens(person.surname)
        surname = surnameTokens.isEmpty ? nil : surnameTokens.joined()
        aliases = person.otherNames.map { Names.tokens($0).joined() }.filter { !$0.isEmpty }
        dateOfBirth = person.dateOfBirth
        gender = person.gender.flatMap { $0.lowercased().first }
        nhsNumber = person.nhsNumber.flatMap(Identifier.nhsNumber)
        upn = person.upn.flatMap(Identifier.upn).map(\.upn)
        pncID = person.pncID.flatMap(Identifier.pncID)
        postcode = person.postcode.map(Names.postcode).flatMap { $0.isEmpty ? nil : $0 }
        outwardCode = person.postcode.flatMap(Names.outwardCode)
    }
}

/// Scores how likely two descriptions are the same person. Each field adds evidence for or against, in the
/// manner of Fellegi–Sunter weights: agreement on a rare, reliable field adds more than agreement on a common
/// one, and a missing field adds nothing. The total maps to a score in 0…1; the thresholds make the bands.
public struct IdentityMatcher: Sendable {
    /// Score at or above which a single candidate is a match.
    public var matchAt: Double
    /// Score at or above which a candidate is a potential match.
    public var potentialAt: Double

    public init(matchAt: Double = 0.85, potentialAt: Double = 0.3) {
        self.matchAt = matchAt
        self.potentialAt = potentialAt
    }

    public func band(for score: Double) -> MatchBand {
        score >= matchAt ? .match : score >= potentialAt ? .potentialMatch : .noMatch
    }

    public func assess(_ query: MatchKey, _ candidate: MatchKey) -> MatchAssessment {
        let score = score(query, candidate)
        return MatchAssessment(band: band(for: score), score: score)
    }

    public func score(_ a: MatchKey, _ b: MatchKey) -> Double {
        let weight = evidence(a, b)
        let score = 1 / (1 + exp(-(weight - 8.5) / 1.5))
        return (score * 1000).rounded() / 1000
    }

    func evidence(_ a: MatchKey, _ b: MatchKey) -> Double {
        var weight = 0.0
        var identifierAgrees = false
        for (x, y) in [(a.nhsNumber, b.nhsNumber), (a.upn, b.upn), (a.pncID, b.pncID)] {
            guard let x, let y else { continue }
            if x == y {
                identifierAgrees = true
            } else {
                weight -= 8
            }
        }
        if identifierAgrees { weight += 12 }

        let straight = forenameEvidence(a, b) + surnameEvidence(a.surname, a.surnameTokens, b)
        let swapped = Self.transposed(a, b)
        weight += max(straight, swapped)
        weight += dateOfBirthEvidence(a.dateOfBirth, b.dateOfBirth)
        if let x = a.postcode, let y = b.postcode {
            weight += x == y ? 2 : a.outwardCode == b.outwardCode ? 0.5 : 0
        }
        if let x = a.gender, let y = b.gender, x != y, "mf".contains(x), "mf".contains(y) { weight -= 1.5 }
        return weight
    }

    private func forenameEvidence(_ a: MatchKey, _ b: MatchKey) -> Double {
        guard let x = a.forename, let y = b.forename else { return 0 }
        var best = Self.forenameAgreement(x, a.forenameGroup, y, b.forenameGroup)
        for alias in b.aliases where best < 4 { best = max(best, Self.forenameAgreement(x, nil, alias, nil) - 0.5) }
        for alias in a.aliases where best < 4 { best = max(best, Self.forenameAgreement(alias, nil, y, nil) - 0.5) }
        // "Mary Jane" against "Mary": a first forename that agrees exactly.
        if best < 3.5, let first = a.forenames.first, first == b.forenames.first, first.count > 1 { best = 3.5 }
        return best
    }

    static func forenameAgreement(_ x: String, _ xGroup: String?, _ y: String, _ yGroup: String?) -> Double {
        if x == y { return 4 }
        if let xGroup, xGroup == yGroup { return 3.5 }
        let similarity = JaroWinkler.similarity(x, y)
        if similarity >= 0.92 { return 2.5 }
        if similarity >= 0.85 { return 0.5 }
        return -3
    }

    private func surnameEvidence(_ x: String?, _ xTokens: [String], _ b: MatchKey) -> Double {
        guard let x, let y = b.surname else { return 0 }
        if x == y { return 5 }
        // Double-barrelled against one of its parts, or a previous surname kept as an alias.
        if xTokens.count > 1 && xTokens.contains(y) || b.surnameTokens.count > 1 && b.surnameTokens.contains(x) {
            return 3.5
        }
        if b.aliases.contains(x) { return 3.5 }
        let similarity = JaroWinkler.similarity(x, y)
        if similarity >= 0.92 { return 3 }
        if similarity >= 0.85 { return 1 }
        return -3
    }

    /// Forename and surname recorded the wrong way round.
    private static func transposed(_ a: MatchKey, _ b: MatchKey) -> Double {
        guard let af = a.forename, let asur = a.surname, let bf = b.forename, let bsur = b.surname, af != asur else {
            return -.infinity
        }
        guard af == bsur, asur == bf else { return -.infinity }
        return 8
    }

    private func dateOfBirthEvidence(_ x: LocalDate?, _ y: LocalDate?) -> Double {
        guard let x, let y else { return 0 }
        if x == y { return 5 }
        if x.year == y.year && x.month == y.day && x.day == y.month { return 3.5 }
        let sameDayMonth = x.month == y.month && x.day == y.day
        if sameDayMonth && abs(x.year - y.year) == 1 { return 1.5 }
        if x.year == y.year && (x.month == y.month || x.day == y.day) && Self.oneDigitApart(x, y) { return 1.5 }
        return -5
    }

    private static func oneDigitApart(_ x: LocalDate, _ y: LocalDate) -> Bool {
        zip(x.description, y.description).filter { $0 != $1 }.count == 1
    }
}

/// The records of one agency extract, indexed so a search compares a person with the few records that share
/// an identifier, a date of birth (either way round), a postcode or a name prefix, not with every record.
public struct IdentityIndex<RecordID: Hashable & Sendable>: Sendable {
    public struct Candidate: Sendable {
        public var id: RecordID
        public var assessment: MatchAssessment
    }

    private var keys: [MatchKey] = []
    private var ids: [RecordID] = []
    private var blocks: [String: [Int]] = [:]

    public init(_ records: some Sequence<(RecordID, Person)>) {
        for (id, person) in records {
            let key = MatchKey(person)
            let index = keys.count
            keys.append(key)
            ids.append(id)
            for block in Self.blocks(of: key) { blocks[block, default: []].append(index) }
        }
    }

    public var count: Int { keys.count }

    static func blocks(of key: MatchKey) -> [String] {
        var result: [String] = []
        if let nhs = key.nhsNumber { result.append("n:" + nhs) }
        if let upn = key.upn { result.append("u:" + upn) }
        if let pnc = key.pncID { result.append("p:" + pnc) }
        if let date = key.dateOfBirth {
            result.append("d:\(date.year)-\(min(date.month, date.day))-\(max(date.month, date.day))")
        }
        if let postcode = key.postcode { result.append("c:" + postcode) }
        if let surname = key.surname {
            result.append("s:" + surname.prefix(3) + (key.forename?.prefix(1) ?? ""))
            if let year = key.dateOfBirth?.year { result.append("y:\(year):" + surname.prefix(2)) }
        }
        if let group = key.forenameGroup, let year = key.dateOfBirth?.year { result.append("f:\(year):" + group) }
        return result
    }

    /// The records that are a match or a potential match for `person`, best first. When more than one reaches
    /// the match band, every one of them is flagged a many-match and reported as a potential match.
    public func search(_ person: Person, matcher: IdentityMatcher = IdentityMatcher()) -> [Candidate] {
        let query = MatchKey(person)
        var seen: Set<Int> = []
        var candidates: [Candidate] = []
        for block in Self.blocks(of: query) {
            for index in blocks[block] ?? [] where seen.insert(index).inserted {
                let assessment = matcher.assess(query, keys[index])
                if assessment.band != .noMatch { candidates.append(Candidate(id: ids[index], assessment: assessment)) }
            }
        }
        candidates.sort { $0.assessment.score > $1.assessment.score }
        if candidates.filter({ $0.assessment.band == .match }).count > 1 {
            for index in candidates.indices where candidates[index].assessment.band == .match {
                candidates[index].assessment.band = .potentialMatch
                candidates[index].assessment.manyMatch = true
            }
        }
        return candidates
    }
}

/// Name and postcode normalisation.
enum Names {
    static let titles: Set<String> = ["mr", "mrs", "ms", "miss", "mx", "dr", "master", "rev", "sir", "dame", "prof"]

    /// Lower-case ASCII tokens without accents, titles or punctuation: "Mrs Zoë O'Brien-Smith" gives
    /// ["zoe", "obrien", "smith"].
    static func tokens(_ name: String?) -> [String] {
        guard let name, !name.isEmpty else { return [] }
        let folded = name.folding(options: [.diacriticInsensitive, .caseInsensitive, .widthInsensitive], locale: nil)
        var tokens: [String] = []
        var current = ""
        for scalar in folded.unicodeScalars {
            switch scalar {
            case "a"..."z", "0"..."9": current.unicodeScalars.append(scalar)
            case "A"..."Z": current.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            case "'", "’", ".": continue
            default:
                if !current.isEmpty { tokens.append(current) }
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens.filter { !titles.contains($0) }
    }

    static func postcode(_ text: String) -> String { text.uppercased().filter { $0.isLetter || $0.isNumber } }

    /// The part before the space ("ME4" of "ME4 4AA"): the inward code is always three characters.
    static func outwardCode(_ text: String) -> String? {
        let compact = postcode(text)
        return compact.count > 3 ? String(compact.dropLast(3)) : nil
    }

    static func nicknameGroup(_ name: String) -> String { nicknames[name] ?? name }

    /// Common English forename variants, each mapped to one formal name.
    static let nicknames: [String: String] = {
        let groups: [String: [String]] = [
            "william": ["will", "bill", "billy", "liam", "willie", "wills"],
            "robert": ["rob", "bob", "bobby", "robbie", "bert"],
            "elizabeth": ["liz", "lizzie", "beth", "betty", "eliza", "libby", "lisa", "elsie"],
            "margaret": ["maggie", "meg", "peggy", "madge", "megan"],
            "katherine": ["kate", "katie", "kathy", "kath", "kat", "catherine", "kathryn", "cathy", "kitty"],
            "alexander": ["alex", "xander", "sandy", "alec", "ali"],
            "alexandra": ["lexi", "lexie", "sasha", "alexa"],
            "thomas": ["tom", "tommy"],
            "james": ["jim", "jimmy", "jamie"],
            "john": ["jack", "johnny", "jon", "jonny"],
            "jonathan": ["jonny", "jon"],
            "michael": ["mike", "mikey", "mick", "micky"],
            "richard": ["rick", "ricky", "dick", "richie", "rich"],
            "edward": ["ed", "eddie", "ted", "teddy", "ned"],
            "charles": ["charlie", "chuck", "chas"],
            "charlotte": ["lottie", "charlie", "lotte"],
            "daniel": ["dan", "danny"],
            "matthew": ["matt", "matty"],
            "christopher": ["chris", "kit", "topher"],
            "christine": ["chris", "chrissie", "tina"],
            "joseph": ["joe", "joey"],
            "josephine": ["jo", "josie", "jose"],
            "samuel": ["sam", "sammy"],
            "samantha": ["sam", "sammie"],
            "benjamin": ["ben", "benny", "benji"],
            "nicholas": ["nick", "nicky", "nico"],
            "anthony": ["tony", "ant"],
            "jennifer": ["jen", "jenny", "jenna"],
            "rebecca": ["becky", "becca", "bex"],
            "victoria": ["vicky", "vicki", "tori"],
            "abigail": ["abby", "abi", "gail"],
            "olivia": ["liv", "livvy", "ollie"],
            "oliver": ["olly", "ollie"],
            "isabella": ["bella", "izzy", "isabel", "isobel"],
            "amelia": ["millie", "amy", "mia"],
            "emily": ["emmy", "em", "emmie"],
            "harriet": ["hattie", "harry"],
            "henry": ["harry", "hal", "hank"],
            "frederick": ["fred", "freddie", "freddy"],
            "patrick": ["pat", "paddy"],
            "patricia": ["pat", "patty", "tricia", "trish"],
            "susan": ["sue", "susie", "suzy"],
            "deborah": ["debbie", "deb", "debs"],
            "stephen": ["steve", "stevie", "steven"],
            "peter": ["pete"],
            "david": ["dave", "davey", "dai"],
            "andrew": ["andy", "drew"],
            "jacob": ["jake", "jakey"],
            "joshua": ["josh"],
            "nathaniel": ["nathan", "nate", "nat"],
            "gabriel": ["gabe", "gaby"],
            "zachary": ["zach", "zack"],
            "eleanor": ["ellie", "nell", "nellie", "elle", "ella"],
            "ellen": ["ellie", "nell"],
            "sophia": ["sophie"],
            "jessica": ["jess", "jessie"],
            "madeleine": ["maddie", "maddy", "madeline"],
            "florence": ["flo", "florrie", "flossie"],
            "theodore": ["theo", "ted", "teddy"],
            "alfred": ["alfie", "alf", "fred"],
            "archibald": ["archie", "archy"],
            "lewis": ["louis", "lou"],
            "mohammed": ["muhammad", "mohammad", "mohamed", "mo"],
        ]
        var map: [String: String] = [:]
        for (formal, variants) in groups.sorted(by: { $0.key < $1.key }) {
            map[formal] = formal
            for variant in variants where map[variant] == nil { map[variant] = formal }
        }
        return map
    }()
}

/// Jaro–Winkler similarity (0…1) of two lower-case ASCII strings: tolerant of typos and of transposed letters,
/// weighting agreement at the start of the name, where recorders rarely err.
public enum JaroWinkler {
    public static func similarity(_ a: String, _ b: String) -> Double {
        let s = Array(a.utf8)
        let t = Array(b.utf8)
        if s.isEmpty || t.isEmpty { return s.isEmpty && t.isEmpty ? 1 : 0 }
        if s == t { return 1 }
        let range = max(0, max(s.count, t.count) / 2 - 1)
        var sMatched = [Bool](repeating: false, count: s.count)
        var tMatched = [Bool](repeating: false, count: t.count)
        var matches = 0
        for i in 0..<s.count {
            let low = max(0, i - range)
            let high = min(t.count - 1, i + range)
            if low > high { continue }
            for j in low...high where !tMatched[j] && s[i] == t[j] {
                sMatched[i] = true
                tMatched[j] = true
                matches += 1
                break
            }
        }
        guard matches > 0 else { return 0 }
        var transpositions = 0
        var k = 0
        for i in 0..<s.count where sMatched[i] {
            while !tMatched[k] { k += 1 }
            if s[i] != t[k] { transpositions += 1 }
            k += 1
        }
        let m = Double(matches)
        let jaro = (m / Double(s.count) + m / Double(t.count) + (m - Double(transpositions) / 2) / m) / 3
        var prefix = 0
        while prefix < min(4, s.count, t.count) && s[prefix] == t[prefix] { prefix += 1 }
        return jaro + Double(prefix) * 0.1 * (1 - jaro)
    }
}
