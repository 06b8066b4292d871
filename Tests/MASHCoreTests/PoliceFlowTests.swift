import Foundation
import MASHCore
import MASHTesting
import Testing

let bankHolidays: Set<LocalDate> = {
    let path = Repository.path("Config/calendar/bank-holidays.json")
    return try! BankHolidays.englandAndWales(fromGOVUK: FileManager.default.contents(atPath: path)!, source: path)
}()

func day(_ text: String) -> LocalDate { LocalDate(text)! }

/// A primary school's 2026/27 autumn and spring terms: INSET on the first days, half-term 26–30 October.
let sampleSchool = SchoolCalendar(
    terms: [
        .init(first: day("2026-09-02"), last: day("2026-10-23")),
        .init(first: day("2026-11-02"), last: day("2026-12-18")),
        .init(first: day("2027-01-04"), last: day("2027-02-12")),
    ], insetDays: [day("2026-09-02"), day("2027-01-04")], dayStarts: TimeOfDay(8, 45), bankHolidays: bankHolidays)

func notification(
    level: DomesticAbuseNotification.RiskLevel, uplift: DomesticAbuseNotification.RiskLevel? = nil,
    children: [DomesticAbuseNotification.Child]
) -> DomesticAbuseNotification {
    DomesticAbuseNotification(
        id: "dan-1", policeReference: "KC/2026/112233", occurredAt: london("2026-11-20 22:10"), place: "Chatham",
        circumstances: "Verbal argument, neighbours called police",
        assessment: .init(
            tool: "DASH", toolVersion: "2009", score: 9, level: level, uplift: uplift,
            upliftReason: uplift == nil ? nil : "officer's judgement"),
        adults: [Person(role: "victim", forename: "Sam", surname: "Carter")], children: children)
}

func child(_ forename: String, born: String, present: Bool = true) -> DomesticAbuseNotification.Child {
    .init(person: Person(forename: forename, surname: "Carter", dateOfBirth: day(born)), present: present)
}

@Suite("Domestic Abuse Notifications: document and routing rules")
struct DomesticAbuseTests {
    let triage = TriageSchedule(time: TimeOfDay(10, 0))

    @Test("a DAN reads back what it wrote; an uplift below the assessed level is refused, naming the field")
    func document() throws {
        let dan = notification(
            level: .medium, uplift: .high,
            children: [child("Amy", born: "2019-03-01"), .init(person: Person(), unbornWeeks: 12, present: false)])
        #expect(try DomesticAbuseNotification(json: dan.json, source: "test") == dan)
        #expect(dan.assessment.effectiveLevel == .high)

        var object = dan.jsonObject
        object["riskAssessment"] = [
            "tool": "DARA", "toolVersion": "1.2", "level": "high", "uplift": "medium",
            "upliftReason": "x",
        ]
        #expect {
            try DomesticAbuseNotification(json: DocumentWriter.encode(object), source: "dan.json")
        } throws: { error in
            let error = error as? DocumentError
            return error?.field == "riskAssessment.uplift" && error?.problem.contains("never lowers") == true
        }
        object = dan.jsonObject
        object["children"] = [["forename": "Amy", "surname": "Carter"]]
        #expect(throws: DocumentError.self) {
            try DomesticAbuseNotification(json: DocumentWriter.encode(object), source: "dan.json")
        }
    }

    @Test(
        "children are read as the document says: a born child without present is refused, an unborn child is unbornWeeks alone",
        arguments: [
            ([["forename": "Amy", "surname": "Carter", "dateOfBirth": "2019-03-01"]], "children[0].present"),
            ([["unbornWeeks": 12, "present": false]], "children[0].present"),
            ([["unbornWeeks": 12, "forename": "Baby"]], "children[0].forename"),
        ] as [([[String: any Sendable]], String)])
    func childrenAsDocumented(_ children: [[String: any Sendable]], _ field: String) {
        var object = notification(level: .medium, children: [child("Amy", born: "2019-03-01")]).jsonObject
        object["children"] = children
        #expect {
            try DomesticAbuseNotification(json: DocumentWriter.encode(object), source: "dan.json")
        } throws: { error in
            (error as? DocumentError)?.field == field
        }
    }

    @Test("an incident a little ahead of the reader's clock (the sender's skew) is read; a later one is refused")
    func futureIncident() throws {
        let dan = notification(level: .medium, children: [child("Amy", born: "2019-03-01")])
        let incident = dan.occurredAt
        _ = try DomesticAbuseNotification(
            json: dan.json, source: "dan.json", now: incident.addingTimeInterval(10 - DocumentReader.clockSkew))
        #expect {
            try DomesticAbuseNotification(
                json: dan.json, source: "dan.json", now: incident.addingTimeInterval(-DocumentReader.clockSkew - 60))
        } throws: { error in
            let error = error as? DocumentError
            return error?.field == "occurredAt" && error?.problem.contains("in the future") == true
        }
    }

    @Test("an unborn child is written as unbornWeeks alone, and read back as not present")
    func unbornWritten() throws {
        let dan = notification(level: .medium, children: [.init(person: Person(), unbornWeeks: 12, present: false)])
        let children = try #require(dan.jsonObject["children"] as? [[String: Any]])
        #expect(children.count == 1 && children[0].keys.sorted() == ["unbornWeeks"])
        #expect(try DomesticAbuseNotification(json: dan.json, source: "test") == dan)
    }

    @Test("High goes to the Practice Manager at once and never to triage, whatever else is true")
    func high() {
        let route = DANRoute.route(
            notification(level: .standard, uplift: .high, children: [child("Amy", born: "2019-03-01")]),
            openCases: [:], receivedAt: london("2026-11-20 22:30"), triage: triage, calendar: mashCalendar)
        #expect(route.referral)
        #expect(route.triageDate == nil)
        #expect(route.contacts.isEmpty)
    }

    @Test("a child open to CSC is a significant contact to the allocated worker; the others still go to triage")
    func openCase() {
        let allocated = OpenCase(socialWorker: "J. Okafor", team: "Chatham Area Team")
        let route = DANRoute.route(
            notification(
                level: .medium, children: [child("Amy", born: "2019-03-01"), child("Ben", born: "2016-05-05")]),
            openCases: [1: allocated], receivedAt: london("2026-11-20 22:30"), triage: triage, calendar: mashCalendar)
        #expect(!route.referral)
        #expect(route.contacts == [DANRoute.Contact(child: 1, openCase: allocated)])
        #expect(route.flags == [.openCase])
        // Friday night: the next triage is Monday's.
        #expect(route.triageDate == day("2026-11-23"))

        let allOpen = DANRoute.route(
            notification(level: .standard, children: [child("Ben", born: "2016-05-05")]), openCases: [0: allocated],
            receivedAt: london("2026-11-23 09:00"), triage: triage, calendar: mashCalendar)
        #expect(allOpen.triageDate == nil)
        #expect(allOpen.contacts.count == 1)
    }

    @Test("pre-triage flags: unborn under 16 weeks, a child under 1 (not one turning 1 that day)")
    func flags() {
        let route = DANRoute.route(
            notification(
                level: .standard,
                children: [.init(person: Person(), unbornWeeks: 15, present: false), child("Cara", born: "2025-11-24")]),
            openCases: [:], receivedAt: london("2026-11-23 09:00"), triage: triage, calendar: mashCalendar)
        #expect(route.flags == [.childUnderOne, .unbornUnder16Weeks])
        let older = DANRoute.route(
            notification(
                level: .standard,
                children: [.init(person: Person(), unbornWeeks: 16, present: false), child("Cara", born: "2025-11-23")]),
            openCases: [:], receivedAt: london("2026-11-23 09:00"), triage: triage, calendar: mashCalendar)
        #expect(older.flags.isEmpty)
    }

    @Test("the next triage: today's before it starts, else the next working day's (bank holidays skipped)")
    func triageDates() {
        #expect(triage.nextMeeting(after: london("2026-11-23 09:59"), calendar: mashCalendar) == day("2026-11-23"))
        #expect(triage.nextMeeting(after: london("2026-11-23 10:00"), calendar: mashCalendar) == day("2026-11-24"))
        #expect(triage.nextMeeting(after: london("2026-12-24 12:00"), calendar: mashCalendar) == day("2026-12-29"))
    }
}

@Suite("Operation Encompass: school days and recipients")
struct EncompassRuleTests {
    @Test("due before the next school day: a term-time Friday night, the last day of term, half-term, a school morning")
    func deadlines() {
        #expect(sampleSchool.nextDayStart(after: london("2026-11-20 22:10")) == london("2026-11-23 08:45"))
        // The last day of the autumn term: Christmas, bank holidays and an INSET day pass first.
        #expect(sampleSchool.nextDayStart(after: london("2026-12-18 19:00")) == london("2027-01-05 08:45"))
        #expect(sampleSchool.nextDayStart(after: london("2026-10-28 14:00")) == london("2026-11-02 08:45"))
        #expect(sampleSchool.nextDayStart(after: london("2026-11-23 06:30")) == london("2026-11-23 08:45"))
        #expect(sampleSchool.nextDayStart(after: london("2026-11-23 09:00")) == london("2026-11-24 08:45"))
        // After the last configured term there is no answer, rather than a guess.
        #expect(sampleSchool.nextDayStart(after: london("2027-02-12 18:00")) == nil)
    }

    @Test("one recipient per school with only its own children; school-age children on no roll go to the officer")
    func recipients() {
        let dan = notification(
            level: .medium,
            children: [
                child("Amy", born: "2019-03-01"), child("Ben", born: "2012-05-05"), child("Cal", born: "2016-01-01"),
                child("Dot", born: "2024-01-01"), .init(person: Person(), unbornWeeks: 20, present: false),
            ])
        let recipients = EncompassPlan.recipients(
            for: dan, schools: [0: ["990001"], 1: ["990002"]], today: day("2026-11-21"))
        #expect(
            recipients == [
                .init(urn: "990001", children: [0]), .init(urn: "990002", children: [1]),
                .init(urn: nil, children: [2]),
            ])
    }
}
