import Foundation
import MASHConfig
import MASHCore
import MASHTesting
import Sealing
import Testing

@testable import Desk
@testable import MASHAgency

/// A scratch folder with the keys a desk needs (its party's pair and the hub's public key) and a stand-in for
/// its TLS files (the configuration only checks they can be read).
struct DeskFixture {
    let folder: ScratchDirectory

    init() throws {
        folder = try ScratchDirectory("desk-config")
        try KeyDirectory.generate(agency: "decision-maker", in: folder.file("keys"))
        try KeyDirectory.generate(agency: "coordinator", in: folder.file("keys"))
        for name in ["desk.pem", "desk.key"] {
            try "-----BEGIN-----".write(toFile: folder.file(name), atomically: true, encoding: .utf8)
        }
    }

    static let valid = """
        party: decision-maker
        broker:
          url: amqp://decision-maker@127.0.0.1:5672/mash
          queue: decision-maker.packages
        keys: keys
        store: desk.sqlite
        accessLog: access.log
        shows: [mash.decision-package/1]
        actions: [decide]
        web:
          port: 0
          certificate: desk.pem
          key: desk.key
        staff:
          - { id: dm.patel, name: Priya Patel, passwordHash: "$2b$12$abcdefghijklmnopqrstuuJ0HgYw0M2vY9N4bQ4S3yY2bq1O2dG6e" }
        """

    func load(_ yaml: String) throws -> DeskConfiguration {
        try DeskConfiguration(yaml: yaml, file: folder.file("desk.yaml"))
    }

    func error(_ yaml: String) -> ConfigurationError? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }
}

@Suite struct DeskConfigurationTests {
    @Test func readsAValidFile() throws {
        let fixture = try DeskFixture()
        let configuration = try fixture.load(DeskFixture.valid)
        #expect(configuration.party == "decision-maker")
        #expect(configuration.queue == "decision-maker.packages")
        #expect(configuration.shows == [.decisionPackage])
        #expect(configuration.actions == [.decide])
        #expect(configuration.staff.map(\.id) == ["dm.patel"])
        #expect(configuration.lockoutAfter == 5 && configuration.lockoutFor == 900 && configuration.sessionIdle == 1800)
        #expect(configuration.store == fixture.folder.file("desk.sqlite"))
    }

    @Test func namesTheFileLineAndKeyOfAMistake() throws {
        let fixture = try DeskFixture()
        let unknown = fixture.error(DeskFixture.valid.replacingOccurrences(of: "  port: 0", with: "  prot: 0"))
        #expect(unknown?.key == "web.prot")
        #expect(unknown?.line == 11)
        let type = fixture.error(
            DeskFixture.valid.replacingOccurrences(of: "[mash.decision-package/1]", with: "[mash.decision-pakage/1]"))
        #expect(type?.key == "shows[0]")
        let action = fixture.error(DeskFixture.valid.replacingOccurrences(of: "[decide]", with: "[approve]"))
        #expect(action?.key == "actions[0]")
        let decideWithoutPackages = fixture.error(
            DeskFixture.valid.replacingOccurrences(of: "[mash.decision-package/1]", with: "[mash.outcome/1]"))
        #expect(decideWithoutPackages?.key == "actions")
        let triageWithoutDANs = fixture.error(
            DeskFixture.valid.replacingOccurrences(of: "[decide]", with: "[decide, triage]"))
        #expect(triageWithoutDANs?.key == "actions")
        #expect(triageWithoutDANs?.problem.contains("mash.dan-triage/1") == true)
        let hash = fixture.error(DeskFixture.valid.replacingOccurrences(of: "$2b$12$abc", with: "plain"))
        #expect(hash?.key == "staff[0].passwordHash")
        let twice = fixture.error(
            DeskFixture.valid + "\n  - { id: dm.patel, name: Again, passwordHash: \"\(String(repeating: "$", count: 2))"
                + String(repeating: "a", count: 58) + "\" }")
        #expect(twice?.key == "staff[1].id")
        let missingTLS = fixture.error(DeskFixture.valid.replacingOccurrences(of: "desk.pem", with: "missing.pem"))
        #expect(missingTLS?.key == "web.certificate")
        let noQueue = fixture.error(
            DeskFixture.valid.replacingOccurrences(of: "  queue: decision-maker.packages\n", with: ""))
        #expect(noQueue?.key == "broker.queue")
    }

    @Test func theShippedDesksNameEveryParty() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Config/desks"
        ).standardizedFileURL.path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
        #expect(
            Set(files) == [
                "decision-maker.yaml", "practice-manager.yaml", "spa.yaml", "school-990001.yaml",
                "school-990002.yaml", "la-officer.yaml", "csc.yaml", "probation.yaml", "education.yaml",
                "orchestra.yaml", "missing-coordinator.yaml", "portal.yaml", "area-manager.yaml",
            ])
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            #expect(text.contains("party: \(file.dropLast(5))\n"), "\(file) names its own party")
            #expect(text.hasSuffix("staff: []\n"), "\(file) ends with an empty staff list for user add")
        }
    }
}

@Suite struct DeskDocumentTests {
    static var package: [String: Any] {
        [
            "schema": "mash.decision-package/1",
            "enquiry": [
                "id": "ENQ-1", "reference": "FWI-1", "rag": "red",
                "subject": ["forename": "Ellie", "surname": "Testperson", "dateOfBirth": "2016-03-14"],
            ],
            "decisionDue": "2026-11-30T13:00:00Z", "partnersDue": "2026-11-30T13:00:00Z",
            "responses": [["agency": "police", "outcome": "information-held", "findings": [] as [Any]]],
            "notAnswered": [] as [Any], "completedAt": "2026-11-29T10:00:00Z",
        ]
    }

    @Test func summarisesAPackageForTheInbox() {
        let summary = DeskDocument.summary(type: .decisionPackage, Self.package)
        #expect(summary.title == "Decision package")
        #expect(summary.reference == "FWI-1")
        #expect(summary.about == "Ellie Testperson")
        #expect(summary.rag == "red")
        #expect(summary.enquiryID == "ENQ-1")
        #expect(summary.dueAt == Instant.parse("2026-11-30T13:00:00Z"))
        #expect(summary.noticeID == nil)
    }

    @Test func summarisesNoticesAlertsAndOutcomes() {
        let notice = DeskDocument.summary(
            type: .encompassNotice,
            [
                "id": "N-1", "policeReference": "KENT-99", "dueBy": "2026-11-30T08:30:00Z",
                "children": [["forename": "Ellie", "surname": "Testperson"]],
            ])
        #expect(notice.noticeID == "N-1" && notice.reference == "KENT-99" && notice.about == "Ellie Testperson")
        let alert = DeskDocument.summary(
            type: .slaAlert,
            ["enquiryID": "ENQ-2", "event": "breach", "clock": "decision", "dueBy": "2026-11-30T13:00:00Z"])
        #expect(alert.title == "Deadline missed (decision)")
        let outcome = DeskDocument.summary(
            type: .outcome, ["enquiryID": "ENQ-3", "reference": "FWI-3", "outcome": "strategy-discussion"])
        #expect(outcome.title == "Outcome: Strategy discussion (s47)")
        #expect(outcome.reference == "FWI-3")
    }

    @Test func laysADocumentOutInWordsNotJSON() {
        let fields = DeskDocument.fields(Self.package)
        let labels = fields.map { $0["label"] as? String }
        #expect(!labels.contains("Schema"))
        #expect(labels.prefix(2) == ["Decision due", "Partners due"])
        let enquiry = fields.first { $0["label"] as? String == "Enquiry" }?["group"] as? [String: Any]
        let subject = (enquiry?["fields"] as? [[String: Any]])?.first { $0["label"] as? String == "Subject" }
        let born = ((subject?["group"] as? [String: Any])?["fields"] as? [[String: Any]])?.first {
            $0["label"] as? String == "Date of birth"
        }
        #expect(born?["text"] as? String == "14 Mar 2016")
        let due = fields.first { $0["label"] as? String == "Decision due" }
        #expect(due?["text"] as? String == "Mon 30 Nov 2026, 13:00")
        let responses = fields.first { $0["label"] as? String == "Responses" }?["list"] as? [[String: Any]]
        #expect(responses?.first?["heading"] as? String == "1. Police")
        let outcome = ((responses?.first?["fields"]) as? [[String: Any]])?.first { $0["label"] as? String == "Outcome" }
        #expect(outcome?["text"] as? String == "Information held")
        #expect(DeskDocument.label("nhsNumber") == "NHS number")
        #expect(DeskDocument.label("acknowledgedAt") == "Acknowledged at")
    }

    @Test func rendersTheItemPageWithoutJSON() throws {
        let library = try Templates.library()
        let html = library.render(
            [
                "desk": "Decision maker", "staff": false, "title": "Decision package", "lowerTitle": "decision package",
                "reference": "FWI-1", "about": "Ellie <b>Testperson</b>", "rag": "red", "ragText": "Red", "due": false,
                "received": "Sun", "statusText": "New", "notice": false, "decide": false, "acknowledge": false,
                "fields": DeskDocument.fields(Self.package), "id": "x", "csrf": "t",
            ], withTemplate: "item")
        #expect(html?.contains("<dt>Date of birth</dt>") == true)
        #expect(html?.contains("Ellie &lt;b&gt;Testperson&lt;/b&gt;") == true, "content is escaped")
        #expect(html?.contains("{\"") == false)
    }
}

@Suite struct UKTimeTests {
    @Test func usesLondonTimeAcrossTheClockChange() {
        #expect(UKTime.dateTime(Instant.parse("2026-07-01T12:00:00Z")!) == "Wed 1 Jul 2026, 13:00")
        #expect(UKTime.dateTime(Instant.parse("2026-12-01T12:00:00Z")!) == "Tue 1 Dec 2026, 12:00")
    }

    @Test func saysTheTimeLeftInWords() {
        let now = Date(timeIntervalSince1970: 0)
        #expect(UKTime.remaining(until: now.addingTimeInterval(3 * 3600 + 20 * 60), now: now) == "3 h 20 min left")
        #expect(UKTime.remaining(until: now.addingTimeInterval(-65 * 60), now: now) == "overdue by 1 h 5 min")
        #expect(UKTime.remaining(until: now.addingTimeInterval(5 * 86400), now: now) == "5 days left")
    }
}

@Suite struct SignInTests {
    @Test func comparesTokensWholly() {
        #expect(Pages.same("abc", "abc"))
        #expect(!Pages.same("abd", "abc"))
        #expect(!Pages.same("ab", "abc"))
        #expect(!Pages.same(nil, "abc"))
    }

    @Test func keepsOnlyAHashOfTheSessionToken() {
        let token = Pages.token()
        #expect(token.count == 64)
        #expect(Pages.token() != token)
        #expect(Pages.hash(token) != token && Pages.hash(token).count == 64)
    }
}

@Suite struct DeskStoreTests {
    @Test func locksAfterRepeatedFailuresAndAnActionHasOneEffect() async throws {
        let folder = try ScratchDirectory("desk-store")
        let store = try DeskStore(path: folder.file("desk.sqlite"))
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 1..<3 {
            #expect(try await store.recordFailure("dm.patel", limit: 3, lockFor: 60, now: now) == nil)
        }
        #expect(try await store.recordFailure("dm.patel", limit: 3, lockFor: 60, now: now) == now + 60)
        #expect(try await store.lockedUntil("dm.patel", now: now + 30) == now + 60)
        #expect(try await store.lockedUntil("dm.patel", now: now + 61) == nil)

        let stored = try await store.queue.write { db in
            try store.accept(
                db, id: "m1", type: "mash.decision-package/1", dueAt: now, summary: [1], body: [2], now: now)
        }
        #expect(stored)
        let again = try await store.queue.write { db in
            try store.accept(
                db, id: "m1", type: "mash.decision-package/1", dueAt: now, summary: [1], body: [2], now: now)
        }
        #expect(!again)
        let first = try await store.queue.write { db in
            try store.markDone(db, "m1", action: .decide, result: "early-help", by: "a", at: now)
        }
        let second = try await store.queue.write { db in
            try store.markDone(db, "m1", action: .decide, result: "no-further-action", by: "b", at: now)
        }
        #expect(first && !second)
        #expect(try await store.item("m1")?.actedBy == "a")
        #expect(try await store.item("m1")?.result == "early-help")

        try await store.startSession(tokenHash: "h", staffID: "dm.patel", csrf: "c", now: now)
        #expect(try await store.session(tokenHash: "h", idle: 60, now: now + 30)?.staffID == "dm.patel")
        #expect(try await store.session(tokenHash: "h", idle: 60, now: now + 200) == nil, "idle too long")
        #expect(try await store.session(tokenHash: "h", idle: 60, now: now + 201) == nil, "and ended for good")
    }
}

/// The Practice Manager's triage: the DAN on the list, the form's children, and what a posted form asks for.
@Suite struct DeskTriageTests {
    static var item: [String: Any] {
        [
            "schema": "mash.dan-triage/1", "danID": "DAN-7", "triageDate": "2026-11-30", "level": "standard",
            "assessedLevel": "standard", "flags": ["unborn-under-16-weeks"], "receivedAt": "2026-11-29T18:00:00Z",
            "notification": [
                "policeReference": "KC-123456",
                "children": [
                    ["unbornWeeks": 12, "present": false],
                    ["forename": "Eli", "surname": "Moss", "dateOfBirth": "2015-02-02", "present": true],
                ],
            ],
        ]
    }

    @Test func summarisesADANOnTheTriageList() {
        let summary = DeskDocument.summary(type: .danTriage, Self.item)
        #expect(summary.title == "Domestic abuse notification for triage")
        #expect(summary.reference == "KC-123456" && summary.about == "Eli Moss")
        #expect(summary.danID == "DAN-7" && summary.triageDate == "2026-11-30")
        let fields = DeskDocument.fields(Self.item).map { $0["label"] as? String }
        #expect(fields.prefix(2) == ["Triage meeting", "Risk level"])
    }

    @Test func offersOnlyBornNamedChildrenAsAnEnquirysSubject() {
        let form = Pages.triageForm(Self.item)
        let children = form["children"] as? [[String: Any]] ?? []
        #expect(children.count == 1)
        #expect(children.first?["index"] as? Int == 1)
        #expect(children.first?["name"] as? String == "Eli Moss, born 2 Feb 2015")
        #expect((form["decisions"] as? [[String: Any]])?.count == TriageDecision.allCases.count)
    }

    @Test func readsWhatAPostedTriageFormAsksFor() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000.6)
        func read(_ form: Pages.Form) -> Result<Desk.ActionForm, Pages.FormProblem> {
            Pages.actionForm(form, by: "pm.ahmed", at: now)
        }
        var form = Pages.Form(csrf: "c", rationale: " Known to Early Help. ", decision: "early-help", child: "1")
        let earlyHelp = try read(form).get()
        #expect(earlyHelp.triage == .earlyHelp && earlyHelp.enquiry == nil, "enquiry fields ignored")
        #expect(earlyHelp.rationale == "Known to Early Help.")

        form.decision = "open-enquiry"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
        form.rag = "amber"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
        form.consent = "override"
        form.ground = "risk-of-significant-harm"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
        form.details = "Repeat incidents."
        let opened = try #require(try read(form).get().enquiry)
        #expect(opened.child == 1 && opened.rag == .amber && opened.agencies == TriageOutcome.meetingAgencies)
        guard case .overridden(let override) = opened.consent else {
            Issue.record("expected an override, got \(opened.consent)")
            return
        }
        #expect(override.practiceManager == "pm.ahmed" && override.rationale == .riskOfSignificantHarm)
        #expect(override.agencies.map(\.agency) == TriageOutcome.meetingAgencies)
        // The hub's consent gate accepts it for the agencies it asks.
        #expect(throws: Never.self) { try ConsentGate.check(opened.consent, agencies: opened.agencies) }

        form.consent = "given"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
        form.givenBy = "mother"
        let given = try #require(try read(form).get().enquiry)
        #expect(given.consent == .given(by: "mother", at: Date(timeIntervalSince1970: 1_800_000_000)))
        #expect(given.agencies.isEmpty, "the routing defaults for the rating")
        form.decision = "close-the-case"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
    }
}

@Suite("Desk: corrections applied to a stored document")
struct DeskCorrectionTests {
    static let amy = Set(Person(forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2019-03-01")).referenceKeys)
    static func child(_ forename: String, _ born: String) -> [String: Any] {
        ["forename": forename, "surname": "Carter", "dateOfBirth": born, "present": true]
    }

    @Test("a package about her is hers; a DAN naming her and her brother loses only her, wherever she is listed")
    func erase() throws {
        let package: [String: Any] = ["enquiry": ["subject": Self.child("Amy", "2019-03-01")], "responses": []]
        #expect(Desk.isAbout(package, keys: Self.amy))
        let dan: [String: Any] = [
            "children": [Self.child("Amy", "2019-03-01"), Self.child("Ben", "2012-05-05")],
            "notice": ["children": [Self.child("Amy", "2019-03-01")]],
        ]
        #expect(!Desk.isAbout(dan, keys: Self.amy))
        let erased = try #require(Desk.correcting(dan, keys: Self.amy, with: nil) as? [String: Any])
        let children = try #require(erased["children"] as? [[String: Any]])
        #expect(children.map { $0["forename"] as? String } == ["Ben"])
        #expect((erased["notice"] as? [String: Any])?["children"] as? [Any] != nil)
        #expect(((erased["notice"] as? [String: Any])?["children"] as? [Any])?.isEmpty == true)
    }

    @Test("a rectification changes only the fields the document already holds, only for her")
    func rectify() throws {
        let dan: [String: Any] = ["children": [Self.child("Amy", "2019-03-01"), Self.child("Ben", "2012-05-05")]]
        let fixed = try #require(
            Desk.correcting(
                dan, keys: Self.amy, with: Person(surname: "Carter-Smith", postcode: "ME1 1AA")) as? [String: Any])
        let children = try #require(fixed["children"] as? [[String: Any]])
        #expect(children.map { $0["surname"] as? String } == ["Carter-Smith", "Carter"])
        #expect(children.allSatisfy { $0["postcode"] == nil })
    }
}

@Suite("Desk: the access log's own period")
struct AccessLogPruneTests {
    @Test("lines older than the period go, newer and unreadable lines stay, and the log goes on being written")
    func prune() async throws {
        let scratch = try ScratchDirectory("access-log-prune")
        let path = scratch.file("access.log")
        let log = try AccessLog(path: path)
        let now = Date(timeIntervalSince1970: 1_795_000_000)
        await log.record("view", staff: "sw-1", item: "old", at: now.addingTimeInterval(-90 * 86400))
        await log.record("view", staff: "sw-2", item: "new", at: now.addingTimeInterval(-86400))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("not json\n".utf8))
        try handle.close()
        #expect(try await log.prune(before: now.addingTimeInterval(-30 * 86400)) == 1)
        await log.record("inbox", staff: "sw-3", at: now)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.contains { $0.contains("\"new\"") } && !lines.contains { $0.contains("\"old\"") })
        #expect(lines.last?.contains("sw-3") == true)
        #expect(try await log.prune(before: now.addingTimeInterval(-30 * 86400)) == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

@Suite struct MissingDeskTests {
    static var found: [String: Any] {
        [
            "schema": "mash.missing-notice/1", "episodeID": "EP-9", "purpose": "review", "report": "found",
            "interviewDue": "2026-12-09T13:00:00Z",
            "document": [
                "schema": "mash.found-report/1", "episodeID": "EP-9", "foundAt": "2026-12-06T13:00:00Z",
                "foundWhere": "Gillingham", "safeAndWell": ["done": false],
            ],
        ]
    }

    @Test func summarisesMissingNotices() {
        let found = DeskDocument.summary(type: .missingNotice, Self.found)
        #expect(found.title == "Found: return interview due" && found.report == "found")
        #expect(found.episodeID == "EP-9" && found.dueAt == Instant.parse("2026-12-09T13:00:00Z"))
        var missing = Self.found
        missing["report"] = "missing"
        missing["purpose"] = "high-risk"
        missing["document"] = [
            "policeReference": "KC/MISS/1", "child": ["forename": "Tyler", "surname": "Brooks"],
        ]
        let summary = DeskDocument.summary(type: .missingNotice, missing)
        #expect(summary.title == "High-risk missing child" && summary.about == "Tyler Brooks")
        #expect(summary.reference == "KC/MISS/1" && summary.dueAt == nil)
        let alert = DeskDocument.summary(
            type: .slaAlert,
            ["schema": "mash.sla-alert/1", "enquiryID": "EP-9", "clock": "return-interview", "event": "breach"])
        #expect(alert.episodeID == "EP-9" && alert.title == "Deadline missed (return interview within 72 hours)")
    }

    @Test func readsAPostedInterviewForm() throws {
        let now = UKTime.fromInput("2026-12-07T10:30")!
        func read(_ form: Pages.Form) -> Result<Desk.ActionForm, Pages.FormProblem> {
            Pages.interviewAction(form, by: "m.osei", now: now)
        }
        var form = Pages.Form(csrf: "c")
        form.response = "offered"
        form.offeredAt = "2026-12-07T09:00"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }  // independent not said
        form.independent = "yes"
        let offer = try #require(try read(form).get().interview)
        #expect(offer.response == .accepted && offer.heldAt == nil && !offer.concludes && offer.offeredBy == "m.osei")
        #expect(UKTime.inputValue(offer.offeredAt) == "2026-12-07T09:00")

        form.response = "held"
        form.heldAt = "2026-12-07T10:00"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }  // no record
        form.record = " Agreed a safety plan. "
        form.multiple = ["theme": ["peer-relationships", "nonsense"], "flag": ["cce"]]
        let held = try #require(try read(form).get().interview)
        #expect(held.concludes && held.record == "Agreed a safety plan.")
        #expect(held.themes == [.peers] && held.exploitation == [.criminal])
        form.heldAt = "2026-12-07T08:00"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }  // held before the offer
        form.offeredAt = "2026-12-08T09:00"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }  // offered in the future

        form.offeredAt = "2026-12-07T09:00"
        form.response = "declined"
        let declined = try #require(try read(form).get().interview)
        #expect(
            declined.response == .declined && declined.heldAt == nil && declined.themes.isEmpty && declined.concludes)
        form.response = "maybe"
        #expect(throws: Pages.FormProblem.self) { try read(form).get() }
    }
}

/// The front door's forms: the portal's referral form, the SPA's screening, the consultation record, and who may
/// use them.
@Suite struct DeskFrontDoorTests {
    static let now = UKTime.fromInput("2026-12-07T10:30")!
    static let teacher = StaffAccount(
        id: "t.okoro", name: "Tayo Okoro", passwordHash: "", organisation: "Sample Primary School",
        jobTitle: "Designated Safeguarding Lead")

    static func form(_ values: [String: String]) -> Pages.Form {
        var form = Pages.Form(csrf: "c")
        form.values = values
        return form
    }

    static let referral = [
        "contactID": "3f0c1a52-7d61-4e0b-9a55-0c1d2e3f4a5b", "child_forename": "Ellie", "child_surname": "Testperson",
        "child_dateOfBirth": "2016-03-14", "member1_role": "mother", "member1_forename": "Jo",
        "member1_surname": "Testperson", "concern": "Bruising to her upper arm.", "actionsTaken": "Told the head.",
        "parentsAware": "yes", "consent": "given",
    ]

    @Test(
        "the referral form is a contact from the signed-in professional; what the hub would refuse, it refuses by name")
    func referralForm() throws {
        let contact = try Pages.contact(Self.form(Self.referral), account: Self.teacher, now: Self.now).get()
        #expect(contact.referrer.staffID == "t.okoro" && contact.referrer.organisation == "Sample Primary School")
        #expect(contact.reference == "MC-20261207-3F0C1A")
        #expect(contact.household == [Person(role: "mother", forename: "Jo", surname: "Testperson")])
        #expect(contact.consent == .given && contact.parentsAware)
        var values = Self.referral
        values["consent"] = "refused"
        let problem = { (values: [String: String]) -> String? in
            if case .failure(let problem) = Pages.contact(Self.form(values), account: Self.teacher, now: Self.now) {
                return problem.reason
            }
            return nil
        }
        #expect(problem(values)?.hasPrefix("why consent was not given") == true)
        values = Self.referral
        values["child_surname"] = ""
        #expect(problem(values)?.hasPrefix("the child's last name") == true)
        values = Self.referral
        values["child_dateOfBirth"] = "2027-01-01"
        #expect(problem(values)?.hasPrefix("the child's date of birth") == true)
    }

    @Test(
        "a MASH enquiry is screened only with consent or a complete override; the override names the agencies it covers"
    )
    func screeningForm() throws {
        let read = { (values: [String: String]) in
            Pages.screeningAction(Self.form(values), by: "rio.spa", now: Self.now)
        }
        var values = [
            "decision": "mash-enquiry", "rationale": "Disclosure of harm.", "feedback": "The MASH is looking into it.",
            "rag": "red",
        ]
        guard case .failure(let none) = read(values) else {
            Issue.record("a MASH enquiry without consent or override was accepted")
            return
        }
        #expect(none.reason.contains("consent or an override"))
        values["consent"] = "override"
        values["ground"] = "risk-of-significant-harm"
        values["details"] = "Telling the father could put her at risk."
        #expect(throws: Pages.FormProblem.self) { try read(values).get() }  // no agencies, nobody agreed
        values["agencies"] = "police, health"
        values["agreedBy"] = "DS Patel (Police MASH) and the named nurse"
        let overridden = try #require(try read(values).get().screening)
        #expect(overridden.enquiry?.agencies == ["police", "health"])
        guard case .overridden(let override) = overridden.enquiry?.consent else {
            Issue.record("not an override")
            return
        }
        #expect(override.practiceManager == "rio.spa" && override.agencies.map(\.agency) == ["police", "health"])
        values["consent"] = "given"
        values["givenBy"] = "mother"
        values["agencies"] = ""
        let given = try #require(try read(values).get().screening)
        #expect(given.enquiry?.rag == .red && given.enquiry?.agencies == [] && given.screenedBy == "rio.spa")
        #expect(throws: Pages.FormProblem.self) { try read(["decision": "early-help", "rationale": "x"]).get() }
        let advice = try #require(
            try read(["decision": "no-further-action", "rationale": "Low level.", "feedback": "Keep a note."]).get()
                .screening)
        #expect(advice.enquiry == nil && advice.feedback == "Keep a note.")
    }

    @Test("screening and consultations need the spa role; a portal account needs its organisation and job title")
    func roles() throws {
        #expect(!StaffAccount(id: "r.reader", name: "R", passwordHash: "").may(.screen))
        #expect(StaffAccount(id: "rio.spa", name: "R", passwordHash: "", roles: [.spa]).may(.consult))
        #expect(StaffAccount(id: "t.okoro", name: "T", passwordHash: "").may(.refer))
        let fixture = try DeskFixture()
        try KeyDirectory.generate(agency: "portal", in: fixture.folder.file("keys"))
        let portal = DeskFixture.valid.replacingOccurrences(of: "party: decision-maker", with: "party: portal")
            .replacingOccurrences(of: "shows: [mash.decision-package/1]", with: "shows: [mash.contact-outcome/1]")
            .replacingOccurrences(of: "actions: [decide]", with: "actions: [refer]")
        let error = try #require(fixture.error(portal))
        #expect(error.key == "staff[0].organisation")
    }

    @Test("a consultation's record refuses an NHS number in the concern, and names the field")
    func consultationForm() throws {
        var values = [
            "consultationID": "9a8b7c6d-0000-4000-8000-000000000001", "heldAt": "2026-12-07T10:00",
            "professional": "t.okoro", "organisation": "Sample Primary School", "role": "DSL",
            "concern": "A pupil in Year 4 comes to school hungry.", "advice": "Talk to the family about Early Help.",
            "recommendation": "early-help",
        ]
        let read = { (values: [String: String]) in
            Pages.consultation(Self.form(values), by: "sw.bello", now: Self.now)
        }
        let consultation = try read(values).get()
        #expect(consultation.reference == "NNC-20261207-9A8B7C" && consultation.socialWorker == "sw.bello")
        values["concern"] = "A pupil (NHS number 943 476 5919) comes to school hungry."
        guard case .failure(let problem) = read(values) else {
            Issue.record("a consultation holding an NHS number was accepted")
            return
        }
        #expect(problem.reason.hasPrefix("the concern: identifies the child or family (an NHS number)"))
    }

    @Test("the service's hours: open at 10:00 on a Monday, closed at 13:00 and on a bank holiday")
    func serviceHours() {
        let hours = ConsultationHours.standard(holidays: [LocalDate(year: 2026, month: 12, day: 25)])
        #expect(Pages.serviceHours(hours, now: UKTime.fromInput("2026-12-07T10:00")!).hasPrefix("The service is open"))
        #expect(Pages.serviceHours(hours, now: UKTime.fromInput("2026-12-07T13:00")!).contains("Tue 8 Dec 2026, 09:30"))
        #expect(
            Pages.serviceHours(hours, now: UKTime.fromInput("2026-12-25T10:00")!).contains("Mon 28 Dec 2026, 09:30"))
    }
}
