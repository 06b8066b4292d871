import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHTesting
import Sealing
import Testing

/// "2026-11-20 22:10" in Europe/London.
private func london(_ text: String) -> Date {
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "Europe/London")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.date(from: text)!
}

private let rollHeader = "UPN,Surname,Forename,DOB,EntryDate,Gender,YearGroup,LeavingDate,LeavingReason,Destination\n"

private func rollFile(_ urn: String, _ rows: String, _ qualifier: SchoolRoll.Qualifier = .full) -> [UInt8] {
    SchoolRollFile(urn: urn, format: .csv, qualifier: qualifier, content: rollHeader + rows).json
}

private func child(
    _ forename: String, _ surname: String, born: String, upn: String? = nil, present: Bool = true
) -> DomesticAbuseNotification.Child {
    .init(
        person: Person(forename: forename, surname: surname, dateOfBirth: LocalDate(born), upn: upn), present: present)
}

private func dan(
    level: DomesticAbuseNotification.RiskLevel, uplift: DomesticAbuseNotification.RiskLevel? = nil,
    at occurred: Date, children: [DomesticAbuseNotification.Child]
) -> DomesticAbuseNotification {
    DomesticAbuseNotification(
        id: TestNames.messageID(), policeReference: "KC-\(Int.random(in: 100_000...999_999))",
        occurredAt: Date(timeIntervalSince1970: occurred.timeIntervalSince1970.rounded(.down)), place: "Chatham",
        circumstances: "Argument overheard by neighbours; officers attended",
        assessment: .init(
            tool: "DASH", toolVersion: "2009", score: 8, level: level, uplift: uplift,
            upliftReason: uplift == nil ? nil : "repeat incidents in a month"),
        adults: [
            Person(role: "victim", forename: "Jo", surname: "Carter"),
            Person(role: "alleged-perpetrator", forename: "Lee", surname: "Carter"),
        ], children: children)
}

private func object(_ opened: OpenedMessage) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(opened.payload)) as? [String: Any])
}

/// The two sample schools' baseline rolls: Amy at the primary, Ben at the secondary.
private func baselineRolls(_ harness: Harness) async throws {
    try await harness.send(
        rollFile("990001", "P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,\n"), type: .schoolRoll,
        from: "orchestra", routingKey: "roll")
    try await harness.send(
        rollFile("990002", "D887990126002,Carter,Ben,2012-05-05,2023-09-04,M,9,,,\n"), type: .schoolRoll,
        from: "orchestra", routingKey: "roll")
    _ = try await harness.take(2, from: "education.rolls", as: "education")
}

extension CoordinatorBrokerTests {
    @Suite("Police and school flows against the real broker")
    struct PoliceFlowTests {
        @Test(
            "subject access: a child's disclosures across a Red enquiry, a DAN and her school's Encompass notice, none of her brother's own, each search recorded; a restriction refuses the next enquiry about her until lifted"
        )
        func subjectAccess() async throws {
            try await Harness.with("subject-access") { harness in
                let police = try #require(try await harness.agencies(["police"])["police"])
                try await harness.startInProcess()
                try await baselineRolls(harness)
                var enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                enquiry.subject = Person(
                    forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01"), nhsNumber: "9434765919")
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let notification = dan(
                    level: .medium, at: Date().addingTimeInterval(-3600),
                    children: [child("Amy", "Carter", born: "2019-03-01"), child("Ben", "Carter", born: "2012-05-05")])
                try await harness.send(
                    notification.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                _ = try await harness.take(1, from: "school.990001.encompass", as: "school-990001")
                _ = try await harness.take(1, from: "school.990002.encompass", as: "school-990002")

                func disclosures(_ person: [String]) async throws -> [[String: Any]] {
                    let result = try await harness.mashctl(
                        ["subject", "disclosures"] + person + [
                            "--reason", "SAR-2026-114", "--staff", "d.khan", "--keys", harness.hub.keys.path, "--json",
                        ] + (try harness.operatorOptions()))
                    #expect(result.status == 0, "\(result.output)")
                    return try #require(
                        try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
                }
                func recipients(_ lines: [[String: Any]], of caseID: String) -> [String] {
                    lines.filter { $0["caseID"] as? String == caseID }.compactMap { $0["to"] as? String }.sorted()
                }
                let amy = try await disclosures(["--forename", "amy", "--surname", "CARTER", "--dob", "2019-03-01"])
                // The enquiry: the request to police, police's answer, the package to the decision maker.
                #expect(recipients(amy, of: enquiry.id) == ["coordinator", "decision-maker", "police"])
                // The DAN: the triage list, Probation's copy, and her own school's notice, not her brother's.
                #expect(recipients(amy, of: notification.id) == ["practice-manager", "probation", "school-990001"])
                #expect(amy.allSatisfy { ($0["dataCategories"] as? [String])?.isEmpty == false })
                #expect(amy.count == 6)
                // Found by her NHS number alone too (the enquiry carried it; the DAN did not).
                let byNHS = try await disclosures([
                    "--forename", "A", "--surname", "Nobody", "--dob", "2000-01-01", "--nhs", "943 476 5919",
                ])
                #expect(recipients(byNHS, of: enquiry.id) == ["coordinator", "decision-maker", "police"])
                #expect(recipients(byNHS, of: notification.id).isEmpty)

                let ben = try await disclosures(["--forename", "Ben", "--surname", "Carter", "--dob", "2012-05-05"])
                #expect(recipients(ben, of: enquiry.id).isEmpty)
                #expect(recipients(ben, of: notification.id) == ["practice-manager", "probation", "school-990002"])
                let nobody = try await disclosures([
                    "--forename", "Amy", "--surname", "Carter", "--dob", "2019-03-02",
                ])
                #expect(nobody.isEmpty)

                // Each search was recorded by the coordinator, with who and why, before it was shown.
                let searches = try harness.query { db in
                    try Row.fetchAll(
                        db, sql: "SELECT operator, summary FROM operator_action WHERE kind = 'subject-access'")
                }
                #expect(searches.count == 4)
                #expect(searches.allSatisfy { $0["operator"] == "d.khan" })
                #expect(searches.allSatisfy { ($0["summary"] as String).hasSuffix(": SAR-2026-114") })

                // A restriction on her: a new enquiry about her is refused before anything is sent, and the SPA is
                // told why; lifted, the next is fanned out again.
                func restriction(_ action: String) async throws {
                    let result = try await harness.mashctl(
                        ["subject", action, "--forename", "Amy", "--surname", "Carter", "--dob", "2019-03-01"] + [
                            "--reason", "R-2026-7", "--staff", "d.khan", "--keys", harness.hub.keys.path,
                        ] + (try harness.operatorOptions()))
                    #expect(result.status == 0, "\(result.output)")
                }
                try await restriction("restrict")
                var again = enquiry
                again.id = TestNames.messageID()
                try await harness.send(again.json, type: .enquiry)
                let refusal = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(refusal[0].type == DocumentType.enquiryRefusal.rawValue)
                let told = try Notice(json: refusal[0].payload, source: "refusal")
                #expect(told.enquiryID == again.id && told.reason?.hasPrefix("restricted:") == true)
                let sentAbout = try harness.query { db in
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM record_of_sharing WHERE enquiry_id = ?", arguments: [again.id])
                }
                #expect(sentAbout == 0)
                try await restriction("lift")
                var third = enquiry
                third.id = TestNames.messageID()
                try await harness.send(third.json, type: .enquiry)
                // The decision maker, who holds the first package, was told of the restriction and of its lifting.
                let desk = try await harness.take(3, from: "decision-maker.packages", as: "decision-maker")
                let corrections = try desk.prefix(2).map { try Correction(json: $0.payload, source: "correction") }
                #expect(corrections.map(\.action) == [.restrict, .lift])
                #expect(corrections.allSatisfy { $0.cases == [enquiry.id] })
                #expect(try DecisionPackage(json: desk[2].payload, source: "package").enquiry.id == third.id)
                #expect(police.received.value.corrections.map(\.action) == [.restrict, .lift])

                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verified.status == 0, "\(verified.output)")
            }
        }

        @Test(
            "a roll diff: leavers, a CME alert, a non-standard joiner, a bad UPN, an identity conflict, a partial CTF, a rejected file"
        )
        func rolls() async throws {
            try await Harness.with("rolls") { harness in
                try await harness.startInProcess()
                try await harness.send(
                    rollFile(
                        "990001",
                        """
                        P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,
                        D887990126002,Khan,Ben,2018-05-05,2022-09-07,M,3,,,
                        T887990126003,Jones,Cal,2018-07-07,2022-09-07,M,3,,,
                        G887990126004,Patel,Dee,2020-01-01,2024-09-04,F,1,,,

                        """), type: .schoolRoll, from: "orchestra", routingKey: "roll")
                let baseline = try object(
                    try #require(try await harness.take(1, from: "education.rolls", as: "education").first))
                #expect(baseline["baseline"] as? Bool == true)
                #expect(baseline["pupils"] as? Int == 4)

                try await harness.send(
                    rollFile(
                        "990001",
                        """
                         p887990126001 , Carter,Amy,01/03/2019,2023-09-06,f,2,,,
                        D887990126002,Khan,Ben,2018-05-05,2022-09-07,M,3,2026-11-20,Moved to another school,990002
                        W887990126005,Smith,Eve,2018-02-02,2026-11-18,F,3,,,
                        X887990126011,Green,Gus,2018-03-03,2026-11-16,M,3,,,
                        G887990126004,Lowe,Ivy,2017-12-12,2024-09-04,F,4,,,

                        """), type: .schoolRoll, from: "orchestra", routingKey: "roll")
                let report = try object(
                    try #require(try await harness.take(1, from: "education.rolls", as: "education").first))
                let leavers = try #require(report["leavers"] as? [[String: Any]])
                let leaverNames = leavers.compactMap { ($0["pupil"] as? [String: Any])?["forename"] as? String }
                #expect(leaverNames == ["Ben", "Cal"])
                #expect(leavers.first?["ground"] as? String == "Moved to another school")
                let joiners = try #require(report["joiners"] as? [[String: Any]])
                let due = Dictionary(
                    uniqueKeysWithValues: joiners.map {
                        (
                            ($0["pupil"] as? [String: Any])?["forename"] as? String ?? "?",
                            $0["newPupilReturnDue"] as? String ?? ""
                        )
                    })
                #expect(due == ["Eve": "2026-11-23", "Gus": "2026-11-21"])
                let flags = (report["flags"] as? [[String: Any]] ?? []).map {
                    "\($0["kind"] as? String ?? ""):\(($0["pupil"] as? [String: Any])?["forename"] as? String ?? "")"
                }
                #expect(Set(flags) == ["invalid-upn:Gus", "identity-conflict:Ivy"])

                // Cal left with no ground and no destination: the MASH front door hears of a child missing education.
                let alert = try object(try #require(try await harness.take(1, from: "spa.notices", as: "spa").first))
                #expect(alert["schema"] as? String == DocumentType.missingEducationAlert.rawValue)
                #expect((alert["pupil"] as? [String: Any])?["forename"] as? String == "Cal")

                // A partial CTF: Fay joins; nobody absent from it has left.
                let ctf = """
                    <CTfile><Header><DocumentQualifier>Partial</DocumentQualifier>
                    <SourceSchool><URN>990001</URN></SourceSchool></Header>
                    <CTFpupilData><Pupil><UPN>N887990126010</UPN><Surname>Brown</Surname><Forename>Fay</Forename>
                    <DOB>2019-04-04</DOB><Gender>F</Gender><SchoolHistory><School><URN>990001</URN>
                    <EntryDate>2026-11-19</EntryDate></School></SchoolHistory></Pupil></CTFpupilData></CTfile>
                    """
                try await harness.send(
                    SchoolRollFile(urn: "990001", format: .ctf, qualifier: nil, content: ctf).json, type: .schoolRoll,
                    from: "orchestra", routingKey: "roll")
                let partial = try object(
                    try #require(try await harness.take(1, from: "education.rolls", as: "education").first))
                #expect((partial["leavers"] as? [Any])?.isEmpty == true)
                #expect((partial["joiners"] as? [[String: Any]])?.count == 1)

                // A malformed file is rejected whole, back to Orchestra with the line; the roll in force stays.
                let rollInForce = try harness.query {
                    try String.fetchOne($0, sql: "SELECT roll_id FROM roll WHERE urn = '990001'")
                }
                try await harness.send(
                    rollFile(
                        "990001",
                        "P887990126001,Carter,Amy,2019-03-01,2023-09-06,F,2,,,\nD887990126002,Khan,Ben,31/02/2018,x,M,3,,,\n"
                    ),
                    type: .schoolRoll, from: "orchestra", routingKey: "roll")
                let rejection = try object(
                    try #require(try await harness.take(1, from: "orchestra.notices", as: "orchestra").first))
                #expect(rejection["at"] as? String == "line 3 DOB")
                #expect(
                    try harness.query { try String.fetchOne($0, sql: "SELECT roll_id FROM roll WHERE urn = '990001'") }
                        == rollInForce)
                let statuses = try harness.query {
                    try String.fetchAll($0, sql: "SELECT status FROM roll_import ORDER BY received_at")
                }
                #expect(statuses == ["accepted", "accepted", "accepted", "rejected"])
                // Nobody flagged was dropped: the roll in force holds 5 pupils plus Fay.
                #expect(
                    try harness.query {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM roll_index WHERE urn = '990001'")
                    }
                        == 5)
            }
        }

        @Test(
            "a High DAN: a Red referral to the Practice Manager, a copy to Probation, one notice per school due before its morning"
        )
        func highAcrossTwoSchools() async throws {
            try await Harness.with("dan-high") { harness in
                try await harness.startInProcess()
                try await baselineRolls(harness)
                let notification = dan(
                    level: .medium, uplift: .high, at: london("2026-11-20 22:10"),
                    children: [
                        child("Amy", "Carter", born: "2019-03-01"),
                        child("Ben", "Carter", born: "2012-05-05", present: false),
                        .init(person: Person(), unbornWeeks: 12, present: false),
                    ])
                try await harness.send(
                    notification.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")

                let referral = try #require(
                    try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager").first)
                #expect(referral.type == DocumentType.danReferral.rawValue)
                let referralBody = try object(referral)
                #expect(referralBody["rag"] as? String == "red")
                #expect(referralBody["flags"] as? [String] == ["unborn-under-16-weeks"])
                let copy = try #require(
                    try await harness.take(1, from: "probation.safeguarding", as: "probation").first)
                #expect(try DomesticAbuseNotification(json: copy.payload, source: "copy") == notification)
                // The copy is the DAN as the police sent it, byte for byte, and so is the referral's notification.
                #expect(copy.payload == notification.json)
                #expect(
                    (referralBody["notification"] as? NSDictionary)
                        == (try JSONSerialization.jsonObject(with: Data(notification.json)) as? NSDictionary))

                // Friday night in term: Monday morning, by each school's own start time.
                let primary = try EncompassNotice(
                    json: try #require(
                        try await harness.take(1, from: "school.990001.encompass", as: "school-990001").first
                    ).payload,
                    source: "notice")
                #expect(primary.children.map(\.forename) == ["Amy"])
                #expect(primary.dueBy == london("2026-11-23 08:45"))
                let secondary = try EncompassNotice(
                    json: try #require(
                        try await harness.take(1, from: "school.990002.encompass", as: "school-990002").first
                    ).payload,
                    source: "notice")
                #expect(secondary.children.map(\.forename) == ["Ben"])
                #expect(secondary.children.first?.present == false)
                #expect(secondary.dueBy == london("2026-11-23 08:30"))
                #expect(try harness.query { try String.fetchOne($0, sql: "SELECT triage_date FROM dan") } == nil)

                // The last day of the autumn term, and half-term: each due before the right morning.
                for (incident, primaryDue, secondaryDue) in [
                    ("2026-12-18 19:00", "2027-01-05 08:45", "2027-01-05 08:30"),
                    ("2026-10-28 14:00", "2026-11-02 08:45", "2026-11-03 08:30"),
                ] {
                    // An incident still ahead of today's date is sent when it has happened: the coordinator's
                    // clock (and the sender's) moved to an hour after it, as a future incident is refused.
                    harness.clockOffset.withLock { $0 = max(0, london(incident).timeIntervalSinceNow + 3600) }
                    let later = dan(
                        level: .high, at: london(incident),
                        children: [
                            child("Amy", "Carter", born: "2019-03-01"), child("Ben", "Carter", born: "2012-05-05"),
                        ])
                    try await harness.send(
                        later.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                    let one = try EncompassNotice(
                        json: try #require(
                            try await harness.take(1, from: "school.990001.encompass", as: "school-990001").first
                        ).payload,
                        source: "notice")
                    let two = try EncompassNotice(
                        json: try #require(
                            try await harness.take(1, from: "school.990002.encompass", as: "school-990002").first
                        ).payload,
                        source: "notice")
                    #expect(one.dueBy == london(primaryDue), "incident \(incident) at 990001")
                    #expect(two.dueBy == london(secondaryDue), "incident \(incident) at 990002 (INSET on 2 November)")
                }
                let sharing = try harness.query {
                    try Int.fetchOne(
                        $0, sql: "SELECT COUNT(*) FROM record_of_sharing WHERE purpose LIKE 'Operation Encompass%'")
                }
                #expect(sharing == 6)
            }
        }

        @Test(
            "a DAN whose incident is still to come is dead-lettered naming occurredAt (not its value); nothing is routed"
        )
        func futureIncident() async throws {
            try await Harness.with("dan-future") { harness in
                try await harness.startInProcess()
                let future = dan(
                    level: .high, at: Date().addingTimeInterval(6 * 3600),
                    children: [child("Amy", "Carter", born: "2019-03-01")])
                try await harness.send(future.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                let letter = try await dead.next(within: .seconds(30), "the DAN in the DLQ")
                #expect(letter.properties.headers["x-mash-reason"]?.string == "invalidDocument")
                let detail = letter.properties.headers["x-mash-detail"]?.string ?? ""
                #expect(detail.contains("'occurredAt'"), "\(detail)")
                #expect(!detail.contains(String(Instant.format(future.occurredAt).prefix(10))), "no value: \(detail)")
                try letter.ack()
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM dan") } == 0)
                #expect(try await harness.admin.inspect(queue: "practice-manager.alerts").messageCount == 0)
            }
        }

        @Test(
            "a Medium DAN: an open child to the social worker, the rest to triage, a child on no roll to the LA officer"
        )
        func mediumOpenCaseAndTriage() async throws {
            try await Harness.with("dan-medium") { harness in
                try await harness.startInProcess()
                try await baselineRolls(harness)
                let openCase = OpenCaseUpdate(
                    child: Person(forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01")), open: true,
                    socialWorker: "J. Okafor", team: "Chatham Area Team")
                try await harness.send(openCase.json, type: .openCase, from: "csc", routingKey: "open-case")
                try await harness.eventually("the open case recorded") {
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM open_case") } == 1
                }
                let notification = dan(
                    level: .medium, at: Date().addingTimeInterval(-600),
                    children: [
                        child("Amy", "Carter", born: "2019-03-01"), child("Cal", "Carter", born: "2016-01-01"),
                        child("Dot", "Carter", born: "2026-06-01"),
                    ])
                try await harness.send(
                    notification.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")

                let contact = try object(try #require(try await harness.take(1, from: "csc.contacts", as: "csc").first))
                #expect(contact["socialWorker"] as? String == "J. Okafor")
                #expect(contact["child"] as? Int == 0)
                let officer = try EncompassNotice(
                    json: try #require(try await harness.take(1, from: "la-officer.encompass", as: "la-officer").first)
                        .payload,
                    source: "notice")
                #expect(officer.urn == nil && officer.children.map(\.forename) == ["Cal"])
                let school = try EncompassNotice(
                    json: try #require(
                        try await harness.take(1, from: "school.990001.encompass", as: "school-990001").first
                    ).payload,
                    source: "notice")
                #expect(school.children.map(\.forename) == ["Amy"])
                _ = try await harness.take(1, from: "probation.safeguarding", as: "probation")

                // A Standard DAN about another child: triage too, and the day's count is 2.
                let standard = dan(
                    level: .standard, at: Date().addingTimeInterval(-300),
                    children: [child("Eli", "Moss", born: "2015-02-02")])
                try await harness.send(
                    standard.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                _ = try await harness.take(1, from: "probation.safeguarding", as: "probation")
                let triageDate = try #require(
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT triage_date FROM dan WHERE id = ?", arguments: [notification.id])
                    })
                let receivedDate = try #require(
                    try harness.query { try String.fetchOne($0, sql: "SELECT received_date FROM dan LIMIT 1") })
                let listed = try await harness.mashctl([
                    "triage", "list", "--date", triageDate, "--store", harness.store,
                ])
                #expect(listed.status == 0)
                #expect(listed.output.contains(notification.id))
                #expect(listed.output.contains("child-under-1, open-case"))
                #expect(!listed.output.contains("Amy") && !listed.output.contains("Carter"))
                let counted = try await harness.mashctl([
                    "triage", "list", "--date", receivedDate, "--store", harness.store, "--json",
                ])
                let report = try #require(
                    try JSONSerialization.jsonObject(with: Data(counted.output.utf8)) as? [String: Any])
                #expect(report["receivedThatDay"] as? Int == 2)
                #expect(
                    try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM dan WHERE referral = 1") } == 0)

                // Both are on the Practice Manager's triage list: the DAN as received, its date, level and flags.
                let items = try await harness.take(2, from: "practice-manager.alerts", as: "practice-manager")
                #expect(items.allSatisfy { $0.type == DocumentType.danTriage.rawValue })
                let first = try object(items[0])
                #expect(first["danID"] as? String == notification.id && first["triageDate"] as? String == triageDate)
                #expect(first["level"] as? String == "medium")
                #expect(first["flags"] as? [String] == ["child-under-1", "open-case"])
                #expect(
                    (first["notification"] as? NSDictionary)
                        == (try JSONSerialization.jsonObject(with: Data(notification.json)) as? NSDictionary))
                #expect(try object(items[1])["danID"] as? String == standard.id)
            }
        }

        @Test(
            "triage outcomes: an enquiry opened about the chosen child, an Early Help notice to CSC, no further action recorded; a second outcome, a stranger's, and an enquiry without consent are refused"
        )
        func triageOutcomes() async throws {
            try await Harness.with("dan-triage") { harness in
                try await harness.startInProcess()
                var dans: [DomesticAbuseNotification] = []
                for (forename, born) in [("Eli", "2015-02-02"), ("Fay", "2014-04-04"), ("Gus", "2013-03-03")] {
                    let notification = dan(
                        level: .standard, at: Date().addingTimeInterval(-600),
                        children: [
                            .init(person: Person(), unbornWeeks: 20, present: false),
                            child(forename, "Moss", born: born),
                        ])
                    try await harness.send(
                        notification.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                    dans.append(notification)
                }
                _ = try await harness.take(3, from: "practice-manager.alerts", as: "practice-manager")
                // The watchdog: on the triage day itself nothing is late; from the next working day the three
                // untriaged DANs are a critical finding, until each has an outcome (checked at the end).
                let triageDate = try harness.query {
                    try String.fetchOne($0, sql: "SELECT triage_date FROM dan LIMIT 1")
                }
                let triageDay = try #require(triageDate.flatMap(LocalDate.init))
                let calendar = try CoordinatorSettings.calendar(
                    holidaysFile: Repository.path("Config/calendar/bank-holidays.json"))
                let nextWorkingDay = calendar.nextWorkingDay(after: triageDay)
                func status(on day: LocalDate) async throws -> String {
                    let output = try await harness.mashctl(
                        ["status", "--at", "\(day)T12:00:00Z"] + harness.operatorOptions()
                    ).output
                    return output.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
                }
                #expect(try await !status(on: triageDay).contains("DAN triage"))
                let late = try await status(on: nextWorkingDay)
                #expect(
                    late.contains("CRITICAL DAN triage \(triageDay): 3 DANs still untriaged on a later working day"),
                    "\(late)")
                func outcome(
                    _ dan: DomesticAbuseNotification, _ decision: TriageDecision,
                    enquiry: TriageOutcome.EnquiryRequest? = nil
                ) -> [UInt8] {
                    TriageOutcome(
                        danID: dan.id, decision: decision, enquiry: enquiry, rationale: "Discussed at triage.",
                        triagedBy: "pm-ahmed", triagedAt: Date()
                    ).json
                }
                let override = Consent.overridden(
                    ConsentOverride(
                        practiceManager: "pm-ahmed",
                        agencies: TriageOutcome.meetingAgencies.map {
                            AgencyAgreement(agency: $0, agreedBy: "at triage")
                        },
                        rationale: .riskOfSignificantHarm, details: "Repeat incidents; children present.",
                        agreedAt: Date()))

                // Eli (the DAN's second child; the first is unborn): an Amber enquiry asking the meeting's agencies.
                try await harness.send(
                    outcome(
                        dans[0], .openEnquiry,
                        enquiry: .init(
                            child: 1, rag: .amber, consent: override, agencies: TriageOutcome.meetingAgencies)),
                    type: .triageOutcome, from: "practice-manager", routingKey: "triage")
                let request = try ResearchRequest(
                    json: try #require(
                        try await harness.take(1, from: "agency.police.enquiries", as: "police").first
                    ).payload,
                    source: "request")
                #expect(request.subject.forename == "Eli" && request.rag == .amber && request.consent == "overridden")
                let opened = try harness.query { db in
                    try Row.fetchOne(
                        db,
                        sql: """
                            SELECT e.id, e.sender, e.rag, (SELECT COUNT(*) FROM request r WHERE r.enquiry_id = e.id) AS asked
                            FROM enquiry e JOIN dan d ON d.triage_enquiry = e.id WHERE d.id = ?
                            """, arguments: [dans[0].id])
                }
                #expect(opened?["id"] == request.enquiryID && opened?["sender"] == "practice-manager")
                #expect(opened?["rag"] == "amber" && opened?["asked"] == TriageOutcome.meetingAgencies.count)

                // Fay: Early Help, through CSC's front door.
                try await harness.send(
                    outcome(dans[1], .earlyHelp), type: .triageOutcome, from: "practice-manager", routingKey: "triage")
                let notice = try #require(try await harness.take(1, from: "csc.contacts", as: "csc").first)
                #expect(notice.type == DocumentType.earlyHelpNotice.rawValue)
                #expect(try object(notice)["danID"] as? String == dans[1].id)

                // Gus: no further action, recorded only; then a second outcome for him is refused.
                try await harness.send(
                    outcome(dans[2], .noFurtherAction), type: .triageOutcome, from: "practice-manager",
                    routingKey: "triage")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                try await harness.send(
                    outcome(dans[2], .earlyHelp), type: .triageOutcome, from: "practice-manager", routingKey: "triage")
                let again = try await dead.next(within: .seconds(30), "the second outcome")
                #expect(again.properties.headers["x-mash-reason"]?.string == "alreadyTriaged")
                try again.ack()
                try await harness.send(
                    outcome(dans[2], .earlyHelp), type: .triageOutcome, from: "spa", routingKey: "triage")
                let stranger = try await dead.next(within: .seconds(30), "the SPA's outcome")
                #expect(stranger.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try stranger.ack()
                let decisions = try harness.query { db in
                    try Row.fetchAll(db, sql: "SELECT id, triage_decision, triaged_by FROM dan").map {
                        (row: Row) -> String in "\(row["id"] as String)=\(row["triage_decision"] as String? ?? "-")"
                    }
                }
                #expect(
                    Set(decisions)
                        == Set([
                            "\(dans[0].id)=open-enquiry", "\(dans[1].id)=early-help", "\(dans[2].id)=no-further-action",
                        ]))
                #expect(try await !status(on: nextWorkingDay).contains("DAN triage"), "all three triaged")
                let listed = try await harness.mashctl([
                    "triage", "list", "--date",
                    try #require(
                        try harness.query { try String.fetchOne($0, sql: "SELECT triage_date FROM dan LIMIT 1") }),
                    "--store", harness.store,
                ])
                #expect(listed.output.contains("open-enquiry") && listed.output.contains("no-further-action"))

                // An enquiry opened without consent or an override is refused back to the Practice Manager.
                let fourth = dan(
                    level: .standard, at: Date().addingTimeInterval(-600),
                    children: [child("Hal", "Moss", born: "2016-06-06")])
                try await harness.send(fourth.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                _ = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                try await harness.send(
                    outcome(
                        fourth, .openEnquiry, enquiry: .init(child: 0, rag: .green, consent: .notGiven("not asked yet"))
                    ),
                    type: .triageOutcome, from: "practice-manager", routingKey: "triage")
                let refusal = try #require(
                    try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager").first)
                #expect(refusal.type == DocumentType.enquiryRefusal.rawValue)
            }
        }

        @Test(
            "an acknowledged notice stops its clock; an unacknowledged one escalates at its deadline; a stranger's receipt is refused"
        )
        func acknowledgementAndEscalation() async throws {
            try await Harness.with("encompass-ack") { harness in
                // Schools whose terms cover today, so the deadline is the next real school morning.
                let schools = harness.scratch.file("schools")
                try FileManager.default.createDirectory(atPath: schools, withIntermediateDirectories: true)
                let calendar = Calendar(identifier: .gregorian)
                func day(_ offset: Int) -> String {
                    let date = calendar.date(byAdding: .day, value: offset, to: Date())!
                    let c = calendar.dateComponents(in: TimeZone(identifier: "Europe/London")!, from: date)
                    return LocalDate(year: c.year!, month: c.month!, day: c.day!).description
                }
                for urn in ["990001", "990002"] {
                    try """
                    urn: "\(urn)"
                    name: Test school \(urn)
                    dayStarts: "08:40"
                    terms: [{ first: \(day(-30)), last: \(day(60)) }]
                    """.write(toFile: schools + "/\(urn).yaml", atomically: true, encoding: .utf8)
                }
                harness.schoolsDirectory.withLock { $0 = schools }
                try await harness.startInProcess()
                try await baselineRolls(harness)
                let notification = dan(
                    level: .standard, at: Date().addingTimeInterval(-600),
                    children: [child("Amy", "Carter", born: "2019-03-01"), child("Ben", "Carter", born: "2012-05-05")])
                try await harness.send(
                    notification.json, type: .domesticAbuseNotification, from: "police", routingKey: "dan")
                let primary = try EncompassNotice(
                    json: try #require(
                        try await harness.take(1, from: "school.990001.encompass", as: "school-990001").first
                    ).payload,
                    source: "notice")
                // A Standard DAN goes on the Practice Manager's triage list first.
                let listed = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                #expect(listed.map(\.type) == [DocumentType.danTriage.rawValue])
                let secondary = try EncompassNotice(
                    json: try #require(
                        try await harness.take(1, from: "school.990002.encompass", as: "school-990002").first
                    ).payload,
                    source: "notice")

                // The secondary school tries to acknowledge the primary's notice: refused to the DLQ.
                try await harness.send(
                    EncompassAcknowledgement(noticeID: primary.id, acknowledgedAt: Date()).json,
                    type: .encompassAcknowledgement, from: "school-990002", routingKey: "encompass-acknowledgement")
                let refused = try await harness.admin.consume(queue: "coordinator.notifications.dlq", prefetch: 1)
                let dead = try await refused.next(within: .seconds(30), "the refused receipt")
                #expect(dead.properties.headers["x-mash-reason"] == .string("senderNotAllowed"))
                try dead.ack()

                try await harness.send(
                    EncompassAcknowledgement(noticeID: primary.id, acknowledgedAt: Date()).json,
                    type: .encompassAcknowledgement, from: "school-990001", routingKey: "encompass-acknowledgement")
                try await harness.eventually("the primary's receipt recorded") {
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT acknowledged_at FROM encompass_notice WHERE id = ?",
                            arguments: [primary.id])
                    } != nil
                }

                // Past both deadlines: only the unacknowledged notice escalates.
                harness.clockOffset.withLock { $0 = max(primary.dueBy, secondary.dueBy).timeIntervalSinceNow + 5 }
                let alert = try #require(
                    try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager").first)
                let escalation = try Notice(json: alert.payload, source: "alert")
                #expect(escalation.clock == "encompass" && escalation.requestID == secondary.id)
                #expect(escalation.agency == "school-990002")
                let escalated = try harness.query {
                    try String.fetchAll($0, sql: "SELECT id FROM encompass_notice WHERE escalated_at IS NOT NULL")
                }
                #expect(escalated == [secondary.id])
            }
        }
    }
}
