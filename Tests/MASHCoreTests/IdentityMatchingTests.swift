import Testing

@testable import MASHCore

/// The band the default matcher gives `query` against `record`.
func band(_ query: Person, _ record: Person) -> MatchBand {
    IdentityMatcher().assess(MatchKey(query), MatchKey(record)).band
}

@Suite("Identity matching: identifiers, names, dates, bands")
struct IdentityMatchingTests {
    @Test("NHS numbers: modulus 11 check digit, spaces allowed, never-issued numbers refused")
    func nhsNumbers() {
        #expect(Identifier.nhsNumber("943 476 5919") == "9434765919")
        #expect(Identifier.nhsNumber("9434765918") == nil)
        #expect(Identifier.nhsNumber("943476591") == nil)
        // Check result 10 is never issued: 1234567890 gives 10.
        #expect(Identifier.nhsNumber("1234567890") == nil)
    }

    @Test("UPNs: check letter over characters 2–13, temporary UPNs end in a letter")
    func upns() {
        #expect(Identifier.upn("F886123411001")?.upn == "F886123411001")
        #expect(Identifier.upn("f886 1234 11001")?.temporary == false)
        #expect(Identifier.upn("R88612341100A")?.temporary == true)
        #expect(Identifier.upn("G886123411001") == nil)
        #expect(Identifier.upn("F88612341100") == nil)
    }

    @Test("PNC ids: check character over year and serial; four-digit years read as two")
    func pncIDs() {
        #expect(Identifier.pncID("2001/0012345H") == "01/0012345H")
        #expect(Identifier.pncID("01/12345H") == "01/0012345H")
        #expect(Identifier.pncID("1998/1234567L") == "98/1234567L")
        #expect(Identifier.pncID("1998/1234567M") == nil)
    }

    @Test("Jaro–Winkler: the textbook values")
    func jaroWinkler() {
        #expect(abs(JaroWinkler.similarity("martha", "marhta") - 0.961) < 0.001)
        #expect(abs(JaroWinkler.similarity("dwayne", "duane") - 0.84) < 0.001)
        #expect(JaroWinkler.similarity("abc", "xyz") == 0)
    }

    static let ellie = Person(
        forename: "Eleanor", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2016, month: 3, day: 4),
        gender: "female", nhsNumber: "9434765919", postcode: "ME4 4AA")

    @Test(
        "tolerated noise still matches",
        arguments: [
            Person(forename: "ellie", surname: "OKAFOR SMITH", dateOfBirth: LocalDate(year: 2016, month: 3, day: 4)),
            Person(
                forename: "Miss Eléanor", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2016, month: 4, day: 3)),
            Person(forename: "Elanor", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2016, month: 3, day: 4)),
            Person(forename: "Okafor-Smith", surname: "Eleanor", dateOfBirth: LocalDate(year: 2016, month: 3, day: 4)),
            Person(nhsNumber: "943 476 5919"),
        ])
    func tolerated(_ record: Person) {
        #expect(band(Self.ellie, record) == .match)
    }

    @Test("a sibling at the same address is not a match; a twin is at most a potential match")
    func siblings() {
        let brother = Person(
            forename: "Daniel", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2013, month: 9, day: 21),
            gender: "male", postcode: "ME4 4AA")
        #expect(band(Self.ellie, brother) == .noMatch)
        let twin = Person(
            forename: "Esther", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2016, month: 3, day: 4),
            gender: "female", postcode: "ME4 4AA")
        #expect(band(Self.ellie, twin) != .match)
    }

    @Test("different valid NHS numbers outweigh agreeing names")
    func conflictingIdentifiers() {
        var other = Self.ellie
        other.nhsNumber = "4010232137"
        #expect(Identifier.nhsNumber("4010232137") != nil)
        #expect(band(Self.ellie, other) != .match)
    }

    @Test("an invalid identifier is ignored rather than trusted")
    func invalidIdentifier() {
        let typo = Person(forename: "Zack", surname: "Brown", nhsNumber: "9434765918")
        #expect(band(Person(forename: "Eleanor", surname: "Okafor", nhsNumber: "9434765918"), typo) == .noMatch)
    }

    @Test("the index finds a noisy record, and two strong candidates are a many-match, never a match")
    func index() {
        let records: [(Int, Person)] = [
            (1, Self.ellie),
            (
                2,
                Person(
                    forename: "Daniel", surname: "Okafor-Smith", dateOfBirth: LocalDate(year: 2013, month: 9, day: 21))
            ),
            (3, Person(forename: "Tom", surname: "Jones", dateOfBirth: LocalDate(year: 2012, month: 1, day: 2))),
        ]
        let index = IdentityIndex(records)
        let found = index.search(
            Person(forename: "ellie", surname: "Okafor Smith", dateOfBirth: LocalDate(year: 2016, month: 4, day: 3)))
        #expect(found.map(\.id) == [1])
        #expect(found.first?.assessment.band == .match)

        let doubled = IdentityIndex(records + [(4, Self.ellie)])
        let many = doubled.search(Self.ellie)
        #expect(many.count == 2)
        #expect(many.allSatisfy { $0.assessment.manyMatch && $0.assessment.band == .potentialMatch })
        #expect(IdentityIndex(records).search(Person(forename: "Nobody", surname: "Known")).isEmpty)
    }
}

@Suite("Identity matching: levels of agreement, sound-alike names, near-miss dates and addresses")
struct FieldAgreementTests {
    @Test("NYSIIS: names that sound alike share a code; names that do not, do not")
    func nysiis() {
        #expect(NYSIIS.code("phillips") == NYSIIS.code("philips"))
        #expect(NYSIIS.code("clarke") == NYSIIS.code("clark"))
        #expect(NYSIIS.code("stephen") == NYSIIS.code("stefen"))
        #expect(NYSIIS.code("knowles") == NYSIIS.code("nowles"))
        #expect(NYSIIS.code("macdonald") == NYSIIS.code("mcdonald"))
        #expect(NYSIIS.code("knight") == "nagt")
        #expect(NYSIIS.code("mitchell") == "matcal")
        #expect(NYSIIS.code("smith") != NYSIIS.code("jones"))
        #expect(NYSIIS.code("") == "")
    }

    @Test("one edit: a letter changed, dropped, added, or two neighbours swapped; never two")
    func oneEdit() {
        for (a, b) in [("carey", "csrey"), ("brown", "brownn"), ("taylor", "tayor"), ("daivd", "david"), ("x", "x")] {
            #expect(Agreement.withinOneEdit(a, b), "\(a) \(b)")
        }
        for (a, b) in [("carey", "csrye"), ("brown", "bnorw"), ("ab", "abcd"), ("david", "dvida")] {
            #expect(!Agreement.withinOneEdit(a, b), "\(a) \(b)")
        }
    }

    @Test("dates: swapped day and month, one digit, two neighbouring digits swapped, a nearby year")
    func dates() {
        let born = LocalDate(year: 2016, month: 3, day: 14)
        #expect(Agreement.date(born, born) == .exact)
        #expect(Agreement.date(born, LocalDate(year: 2016, month: 3, day: 24)) == .oneDigit)
        #expect(Agreement.date(born, LocalDate(year: 2016, month: 3, day: 28)) == .different)
        #expect(Agreement.date(born, LocalDate(year: 2061, month: 3, day: 14)) == .oneDigit)
        #expect(
            Agreement.date(LocalDate(year: 2016, month: 3, day: 4), LocalDate(year: 2016, month: 4, day: 3))
                == .dayAndMonthSwapped)
        #expect(
            Agreement.date(LocalDate(year: 2019, month: 3, day: 14), LocalDate(year: 2020, month: 3, day: 14))
                == .nearbyYear)
        #expect(Agreement.date(born, LocalDate(year: 2001, month: 3, day: 14)) == .different)
    }

    @Test("postcodes: one character, the same sector, the same district; other shapes only exact or one off")
    func postcodes() {
        #expect(Agreement.postcode("ME44AA", "ME44AA") == .exact)
        #expect(Agreement.postcode("ME44AA", "ME44AB") == .oneCharacter)
        #expect(Agreement.postcode("ME44AA", "ME44QT") == .sameSector)
        #expect(Agreement.postcode("ME44AA", "ME49QT") == .sameDistrict)
        #expect(Agreement.postcode("ME44AA", "ME79QT") == .different)
        #expect(Agreement.postcode("3212", "3213") == .oneCharacter)
        #expect(Agreement.postcode("3212", "3155") == .different)
    }

    static let noah = Person(
        forename: "Noah", surname: "Smith", dateOfBirth: LocalDate(year: 2014, month: 7, day: 8), gender: "male",
        postcode: "ME2 3CC")

    @Test(
        "without identifiers, a sound-alike or mistyped name, a near-miss date and a moved address still match",
        arguments: [
            Person(forename: "Noah", surname: "Smyth", dateOfBirth: LocalDate(year: 2014, month: 7, day: 9)),
            Person(forename: "Noha", surname: "Smith", dateOfBirth: LocalDate(year: 2014, month: 7, day: 8)),
            Person(
                forename: "Noah", surname: "Smith", dateOfBirth: LocalDate(year: 2014, month: 7, day: 8),
                postcode: "ME2 3XY"),
            Person(forename: "SMITH", surname: "NOAH", dateOfBirth: LocalDate(year: 2014, month: 8, day: 7)),
        ])
    func nearMisses(_ query: Person) {
        #expect(band(query, Self.noah) == .match)
    }

    @Test("relatives at one address are not a match: a twin, a brother, a father of the same name")
    func relatives() {
        let twin = Person(
            forename: "Oscar", surname: "Smith", dateOfBirth: LocalDate(year: 2014, month: 7, day: 8), gender: "male",
            postcode: "ME2 3CC")
        let brother = Person(
            forename: "Jacob", surname: "Smith", dateOfBirth: LocalDate(year: 2012, month: 2, day: 1), gender: "male",
            postcode: "ME2 3CC")
        let father = Person(
            forename: "Noah", surname: "Smith", dateOfBirth: LocalDate(year: 1984, month: 11, day: 30),
            gender: "male", postcode: "ME2 3CC")
        for relative in [twin, brother, father] {
            #expect(band(relative, Self.noah) != .match, "\(relative.forename ?? "")")
        }
        // Even with a match threshold an agency has set low, a twin scores high but is never a match.
        let lenient = IdentityMatcher(matchAt: 0.35, potentialAt: 0.1)
        let assessment = lenient.assess(MatchKey(twin), MatchKey(Self.noah))
        #expect(assessment.score >= 0.35)
        #expect(assessment.band == .potentialMatch)
    }
}
