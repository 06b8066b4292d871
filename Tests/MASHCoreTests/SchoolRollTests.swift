import Foundation
import MASHCore
import Testing

let header = "UPN,Surname,Forename,DOB,EntryDate,Gender,YearGroup,LeavingDate,LeavingReason,Destination\n"

func csvRoll(_ rows: String, qualifier: SchoolRoll.Qualifier = .full) throws -> SchoolRoll {
    try SchoolRoll(csv: Array((header + rows).utf8), urn: "990001", qualifier: qualifier, source: "roll.csv")
}

@Suite("School rolls: reading CSV and CTF, and the weekly diff")
struct SchoolRollTests {
    let policy = RollPolicy(firstYearGroup: "R")

    @Test("messy values are cleaned: spaces, case, blank optional fields, DD/MM/YYYY dates")
    func messy() throws {
        let roll = try csvRoll(" p887990126001 , carter ,  Amy  Rose ,01/03/2019, 2023-09-06 ,f, 2 ,,, \n")
        let pupil = try #require(roll.pupils.first)
        #expect(pupil.upn == "P887990126001")
        #expect(pupil.upnStatus == .valid)
        #expect(pupil.surname == "carter")
        #expect(pupil.forename == "Amy Rose")
        #expect(pupil.dateOfBirth == day("2019-03-01"))
        #expect(pupil.gender == "F")
        #expect(pupil.leavingDate == nil && pupil.destination == nil)
        #expect(pupil.locator == "line 2")
    }

    @Test("a malformed file is refused whole, naming the line and field")
    func malformed() {
        #expect {
            try csvRoll(
                "P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,\nD887990126002,Khan,Ben,31/02/2019,2023-09-06,M,2,,,\n"
            )
        } throws: { error in
            let error = error as? DocumentError
            return error?.field == "line 3 DOB" && error?.problem.contains("31/02/2019") == true
        }
        #expect {
            try csvRoll("P887990126001,,Amy,2019-03-01,2023-09-06,F,2,,,\n")
        } throws: { ($0 as? DocumentError)?.field == "line 2 Surname" }
        #expect {
            try SchoolRoll(csv: Array("UPN,Surname,Forename,DOB\n".utf8), urn: "1", qualifier: .full, source: "r.csv")
        } throws: { ($0 as? DocumentError)?.problem.contains("'EntryDate' is missing") == true }
        #expect {
            try csvRoll("P887990126001,Carter,Amy,2019-03-01\n")
        } throws: { ($0 as? DocumentError)?.field == "line 2" }
    }

    @Test("the diff: leavers with their ground, CME for an unknown destination, a non-standard joiner, flags kept")
    func diff() throws {
        let last = try csvRoll(
            """
            P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,
            D887990126002,Khan,Ben,2018-05-05,2022-09-07,M,3,,,
            T887990126003,Jones,Cal,2018-07-07,2022-09-07,M,3,,,
            G887990126004,Patel,Dee,2020-01-01,2024-09-04,F,1,,,

            """)
        let this = try csvRoll(
            """
            P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,
            D887990126002,Khan,Ben,2018-05-05,2022-09-07,M,3,2026-11-20,Moved to another school,990002
            W887990126005,Smith,Eve,2018-02-02,2026-11-18,F,3,,,
            N887990126010,Brown,Fay,2021-04-04,2026-09-03,F,R,,,
            X887990126011,Green,Gus,2018-03-03,2026-11-16,M,3,,,
            A88799012600A,Hill,Hal,2021-06-06,2026-09-03,M,R,,,
            G887990126004,Lowe,Ivy,2017-12-12,2024-09-04,F,4,,,

            """)
        let diff = RollDiff.compare(
            previous: last.pupils, with: this, calendar: sampleSchool, policy: policy)
        #expect(diff.leavers.map(\.pupil.forename) == ["Ben", "Cal"])
        #expect(diff.leavers[0].ground == "Moved to another school" && !diff.leavers[0].missingEducation)
        #expect(diff.leavers[1].missingEducation)
        // Eve joined mid-term: a return by the end of the 5th day. Fay started Reception on the first school
        // day of the year (3 September; the 2nd was INSET): exempt.
        let returns = Dictionary(uniqueKeysWithValues: diff.joiners.map { ($0.pupil.forename, $0.returnDue) })
        #expect(returns["Eve"] == .some(day("2026-11-23")))
        #expect(returns["Fay"] == .some(nil))
        #expect(returns["Gus"] == .some(day("2026-11-21")))
        let flags = diff.flags.map { "\($0.kind.rawValue):\($0.pupil.forename)" }
        #expect(flags.contains("invalid-upn:Gus"))
        #expect(flags.contains("temporary-upn:Hal"))
        #expect(flags.contains("identity-conflict:Ivy"))
        // Nobody flagged is dropped: the roll kept is the whole file.
        #expect(diff.roll.count == 7)
        #expect(!diff.leavers.contains { $0.pupil.forename == "Dee" })
    }

    @Test("a partial file never implies leavers; it updates the pupils it names and adds joiners")
    func partial() throws {
        let last = try csvRoll(
            "P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,\nD887990126002,Khan,Ben,2018-05-05,2022-09-07,M,3,,,\n"
        )
        let change = try csvRoll("W887990126005,Smith,Eve,2018-02-02,2026-11-18,F,3,,,\n", qualifier: .partial)
        let diff = RollDiff.compare(previous: last.pupils, with: change, calendar: sampleSchool, policy: policy)
        #expect(diff.leavers.isEmpty)
        #expect(diff.joiners.map(\.pupil.forename) == ["Eve"])
        #expect(diff.roll.map(\.forename) == ["Amy", "Ben", "Eve"])
    }

    @Test("a school's first roll is the baseline: no joiners, no leavers")
    func baseline() throws {
        let diff = RollDiff.compare(
            previous: nil, with: try csvRoll("P887990126001,Carter,Amy,2019-03-01,2026-11-02,F,2,,,\n"),
            calendar: sampleSchool, policy: policy)
        #expect(diff.baseline && diff.joiners.isEmpty && diff.leavers.isEmpty && diff.roll.count == 1)
    }

    static let ctf = """
        <?xml version="1.0" encoding="UTF-8"?>
        <CTfile>
          <Header>
            <DocumentName>Common Transfer File</DocumentName>
            <DocumentQualifier>partial</DocumentQualifier>
            <SourceSchool><LEA>887</LEA><Estab>9901</Estab><URN>990001</URN><SchoolName>Sample Primary</SchoolName></SourceSchool>
          </Header>
          <CTFpupilData>
            <Pupil>
              <UPN>D887990126002</UPN><Surname>Khan</Surname><Forename> Ben </Forename><DOB>2018-05-05</DOB>
              <Gender>M</Gender>
              <BasicDetails><NCyearActual>3</NCyearActual></BasicDetails>
              <Address><BS7666Address><PostCode>me4 4aa</PostCode></BS7666Address></Address>
              <Contacts><Contact><Surname>Khan</Surname></Contact></Contacts>
              <SchoolHistory>
                <School><URN>990009</URN><EntryDate>2021-09-01</EntryDate><LeavingDate>2022-07-20</LeavingDate></School>
                <School><URN>990001</URN><EntryDate>2022-09-07</EntryDate><LeavingDate>2026-11-20</LeavingDate>
                  <LeavingReason>Home education</LeavingReason><DestinationURN>home education</DestinationURN></School>
              </SchoolHistory>
            </Pupil>
          </CTFpupilData>
        </CTfile>
        """

    @Test(
        "CTF XML: the header's qualifier and URN; the pupil's own school history entry; the contact's surname ignored")
    func ctf() throws {
        let roll = try SchoolRoll(ctf: Array(Self.ctf.utf8), source: "roll.xml")
        #expect(roll.urn == "990001" && roll.qualifier == .partial)
        let pupil = try #require(roll.pupils.first)
        #expect(pupil.surname == "Khan" && pupil.forename == "Ben" && pupil.postcode == "ME4 4AA")
        #expect(pupil.entryDate == day("2022-09-07") && pupil.leavingDate == day("2026-11-20"))
        #expect(pupil.leavingReason == "Home education" && pupil.yearGroup == "3")
    }

    @Test("a malformed CTF is refused whole: broken XML by line, a bad value by pupil, a missing header element")
    func ctfMalformed() {
        #expect {
            try SchoolRoll(ctf: Array(Self.ctf.replacingOccurrences(of: "</Forename>", with: "").utf8), source: "r.xml")
        } throws: { ($0 as? DocumentError)?.problem.contains("not well-formed") == true }
        #expect {
            try SchoolRoll(
                ctf: Array(Self.ctf.replacingOccurrences(of: "<DOB>2018-05-05", with: "<DOB>yesterday").utf8),
                source: "r.xml")
        } throws: { ($0 as? DocumentError)?.field.hasPrefix("Pupil[1]") == true }
        #expect {
            try SchoolRoll(
                ctf: Array(
                    Self.ctf.replacingOccurrences(of: "<DocumentQualifier>partial</DocumentQualifier>", with: "").utf8),
                source: "r.xml")
        } throws: { ($0 as? DocumentError)?.field == "CTfile/Header/DocumentQualifier" }
    }
}
