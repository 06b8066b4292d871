import MASHCore
import Testing

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

    func band(_ query: Person, _ record: Person) -> MatchBand {
        IdentityMatcher().assess(MatchKey(query), MatchKey(record)).band
    }

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
