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
/// punctuation, with their NYSIIS codes and known variants, checked identifiers, a compact postcode.
public struct MatchKey: Sendable {
    var forenames: [String]
    var forename: String?
    var forenameGroup: String?
    var forenameCode = ""
    var forenameVariants: Set<String> = []
    var surname: String?
    var surnameTokens: [String]
    var surnameCode = ""
    var surnameVariants: Set<String> = []
    var dateOfBirth: LocalDate?
    var gender: Character?
    var nhsNumber: String?
    var upn: String?
    var pncID: String?
    var postcode: String?

    public init(_ person: Person) {
        forenames = Names.tokens(person.forename)
        forename = forenames.isEmpty ? nil : forenames.joined()
        forenameGroup = forenames.first.map(Names.nicknameGroup)
        surnameTokens = Names.tokens(person.surname)
        surname = surnameTokens.isEmpty ? nil : surnameTokens.joined()
        let aliases = person.otherNames.flatMap { alias -> [String] in
            let tokens = Names.tokens(alias)
            return tokens.isEmpty ? [] : [tokens.joined()] + tokens
        }
        if let forename {
            forenameCode = NYSIIS.code(forename)
            // The first forename's formal name ("ellie" → "eleanor"), and the first of several on its own.
            forenameVariants = Set(aliases)
            if let group = forenameGroup, group != forename { forenameVariants.insert(group) }
            if forenames.count > 1, let first = forenames.first, first.count > 1 { forenameVariants.insert(first) }
        }
        if let surname {
            surnameCode = NYSIIS.code(surname)
            surnameVariants = Set(aliases)
            if surnameTokens.count > 1 { surnameVariants.formUnion(surnameTokens.filter { $0.count > 1 }) }
        }
        dateOfBirth = person.dateOfBirth
        gender = person.gender.flatMap { $0.lowercased().first }
        nhsNumber = person.nhsNumber.flatMap(Identifier.nhsNumber)
        upn = person.upn.flatMap(Identifier.upn).map(\.upn)
        pncID = person.pncID.flatMap(Identifier.pncID)
        postcode = person.postcode.map(Names.postcode).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// The evidence each level of agreement of each field gives that two descriptions are of the same person, in
/// log-odds, fitted by `scripts/tune-matching.py` (a logistic regression telling a person's own record from
/// the others sharing its blocks) on the tuning half of a labelled set from `scripts/linkage-set.py`; the
/// other half and the public FEBRL 4 set report how well they do (`make bench`). A missing field gives none.
/// Independent Fellegi–Sunter weights (ln m/u) were tried first and overrate agreement that runs in families:
/// twins share a surname, an address and a birthday.
public struct MatchWeights: Sendable, Equatable {
    /// By `NameAgreement.rawValue`.
    public var forename: [Double]
    public var surname: [Double]
    /// By `DateAgreement.rawValue`.
    public var dateOfBirth: [Double]
    /// By `PostcodeAgreement.rawValue`.
    public var postcode: [Double]
    public var sexAgrees: Double
    public var sexDiffers: Double
    /// Added when the names agree only the wrong way round.
    public var namesSwapped: Double
    /// An identifier (NHS number, UPN, PNC id) both hold and agree on, and each one they disagree on.
    public var identifierAgrees: Double
    public var identifierDisagrees: Double
    /// The total weight that scores 0.5, and how many units of weight move the score by one logit.
    public var centre: Double
    public var scale: Double

    public static let tuned = MatchWeights(
        forename: [1.9, 0.3, 1.8, -0.0, -0.1, -6.2],
        surname: [1.2, 0.7, 0.9, -0.2, -0.6, -4.3],
        dateOfBirth: [4.2, 1.4, 1.3, 0.1, -5.6],
        postcode: [1.8, 0.5, 0.2, 0.3, -2.1],
        sexAgrees: -0.0, sexDiffers: -1.4, namesSwapped: -0.3,
        identifierAgrees: 16, identifierDisagrees: -12, centre: 0.43, scale: 0.39)
}

/// Scores how likely two descriptions are the same person: the weights of each field's level of agreement
/// (`MatchWeights`), summed and mapped to a score in 0…1; the thresholds make the bands.
public struct IdentityMatcher: Sendable {
    /// Score at or above which a single candidate is a match.
    public var matchAt: Double
    /// Score at or above which a candidate is a potential match.
    public var potentialAt: Double
    public var weights: MatchWeights

    public init(matchAt: Double = 0.85, potentialAt: Double = 0.3, weights: MatchWeights = .tuned) {
        self.matchAt = matchAt
        self.potentialAt = potentialAt
        self.weights = weights
    }

    public func band(for score: Double) -> MatchBand {
        score >= matchAt ? .match : score >= potentialAt ? .potentialMatch : .noMatch
    }

    /// The band of the score, except that a forename that does not agree at all is never a match without an
    /// agreeing identifier, whatever the thresholds: at one address with one birthday, that is a twin.
    public func assess(_ query: MatchKey, _ candidate: MatchKey) -> MatchAssessment {
        let comparison = compare(query, candidate)
        let score = score(comparison)
        var band = band(for: score)
        if band == .match && comparison.forename == .different && comparison.identifiersAgreeing == 0 {
            band = .potentialMatch
        }
        return MatchAssessment(band: band, score: score)
    }

    public func score(_ a: MatchKey, _ b: MatchKey) -> Double { score(compare(a, b)) }

    func score(_ comparison: Comparison) -> Double {
        let score = 1 / (1 + exp(-(evidence(comparison) - weights.centre) / weights.scale))
        return (score * 1000).rounded() / 1000
    }

    /// The total weight of a comparison.
    public func evidence(_ c: Comparison) -> Double {
        var total = 0.0
        if c.identifiersAgreeing > 0 { total += weights.identifierAgrees }
        total += Double(c.identifiersDisagreeing) * weights.identifierDisagrees
        if let f = c.forename { total += weights.forename[f.rawValue] }
        if let s = c.surname { total += weights.surname[s.rawValue] }
        if c.namesSwapped { total += weights.namesSwapped }
        if let d = c.dateOfBirth { total += weights.dateOfBirth[d.rawValue] }
        if let p = c.postcode { total += weights.postcode[p.rawValue] }
        if let sex = c.sexAgrees { total += sex ? weights.sexAgrees : weights.sexDiffers }
        return total
    }

    /// Each field of `a` against `b`; the names the wrong way round too, keeping whichever way agrees better.
    public func compare(_ a: MatchKey, _ b: MatchKey) -> Comparison {
        var c = Comparison()
        for (x, y) in [(a.nhsNumber, b.nhsNumber), (a.upn, b.upn), (a.pncID, b.pncID)] {
            guard let x, let y else { continue }
            if x == y { c.identifiersAgreeing += 1 } else { c.identifiersDisagreeing += 1 }
        }
        if let x = a.forename, let y = b.forename {
            c.forename = Agreement.name(x, a.forenameCode, a.forenameVariants, y, b.forenameCode, b.forenameVariants)
        }
        if let x = a.surname, let y = b.surname {
            c.surname = Agreement.name(x, a.surnameCode, a.surnameVariants, y, b.surnameCode, b.surnameVariants)
        }
        if let af = a.forename, let asur = a.surname, let bf = b.forename, let bsur = b.surname, af != asur,
            c.forename != .exact || c.surname != .exact
        {
            let forename = Agreement.name(
                af, a.forenameCode, a.forenameVariants, bsur, b.surnameCode, b.surnameVariants)
            let surname = Agreement.name(asur, a.surnameCode, a.surnameVariants, bf, b.forenameCode, b.forenameVariants)
            let straight = weights.forename[c.forename!.rawValue] + weights.surname[c.surname!.rawValue]
            let swapped = weights.forename[forename.rawValue] + weights.surname[surname.rawValue] + weights.namesSwapped
            if swapped > straight {
                c.forename = forename
                c.surname = surname
                c.namesSwapped = true
            }
        }
        if let x = a.dateOfBirth, let y = b.dateOfBirth { c.dateOfBirth = Agreement.date(x, y) }
        if let x = a.postcode, let y = b.postcode { c.postcode = Agreement.postcode(x, y) }
        if let x = a.gender, let y = b.gender, "mf".contains(x), "mf".contains(y) { c.sexAgrees = x == y }
        return c
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
        // Spelled differently but sounding alike, either way round.
        if !key.forenameCode.isEmpty && !key.surnameCode.isEmpty {
            let (first, second) = (min(key.forenameCode, key.surnameCode), max(key.forenameCode, key.surnameCode))
            result.append("N:" + first + " " + second)
        }
        if !key.surnameCode.isEmpty, let year = key.dateOfBirth?.year { result.append("S:\(year):" + key.surnameCode) }
        return result
    }

    /// Every record sharing a block with `person`, each compared with it field by field: what the weights are
    /// estimated from (`matching-bench --comparisons`).
    public func compared(_ person: Person, matcher: IdentityMatcher = IdentityMatcher()) -> [(
        id: RecordID, comparison: Comparison
    )] {
        let query = MatchKey(person)
        return sharingABlock(with: query).map { (ids[$0], matcher.compare(query, keys[$0])) }
    }

    /// The positions of the records sharing at least one block with `query`, each once.
    private func sharingABlock(with query: MatchKey) -> [Int] {
        var seen: Set<Int> = []
        var result: [Int] = []
        for block in Self.blocks(of: query) {
            for index in blocks[block] ?? [] where seen.insert(index).inserted { result.append(index) }
        }
        return result
    }

    /// The records that are a match or a potential match for `person`, best first. When more than one reaches
    /// the match band, every one of them is flagged a many-match and reported as a potential match.
    public func search(_ person: Person, matcher: IdentityMatcher = IdentityMatcher()) -> [Candidate] {
        let query = MatchKey(person)
        var candidates: [Candidate] = []
        for index in sharingABlock(with: query) {
            let assessment = matcher.assess(query, keys[index])
            if assessment.band != .noMatch { candidates.append(Candidate(id: ids[index], assessment: assessment)) }
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
