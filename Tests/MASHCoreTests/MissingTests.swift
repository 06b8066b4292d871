import Foundation
import MASHCore
import Testing

private let reported = Date(timeIntervalSince1970: 1_796_000_000)
private let amy = Person(forename: "Amy", surname: "Carter", dateOfBirth: LocalDate("2011-03-01"))

private func missing(
    risk: PoliceRisk = .medium, authority: String? = nil, flags: [ExploitationFlag] = []
) -> MissingReport {
    MissingReport(
        episodeID: "ep-1", policeReference: "KC/MISS/1", child: amy, missingFrom: authority == nil ? .home : .care,
        place: "12 Dock Road, Chatham", reportedAt: reported, lastSeenAt: reported.addingTimeInterval(-3600),
        risk: risk, exploitation: flags, placingAuthority: authority)
}

private let found = FoundReport(
    episodeID: "ep-1", foundAt: reported.addingTimeInterval(7200), foundWhere: "Gillingham station",
    safeAndWellDone: true, safeAndWellBy: "PC 4411", safeAndWellAt: reported.addingTimeInterval(9000))

private func reading(_ object: [String: Any], as read: ([UInt8]) throws -> Void) -> DocumentError? {
    do {
        try read(DocumentWriter.encode(object))
        return nil
    } catch let error as DocumentError {
        return error
    } catch {
        Issue.record("not a DocumentError: \(error)")
        return nil
    }
}

@Suite("Missing from home and care: documents and the episode's rules")
struct MissingTests {
    @Test("the three documents round-trip, and their refusals name the member")
    func documents() throws {
        let now = reported.addingTimeInterval(86400)
        let report = missing(risk: .high, authority: "la-kent", flags: [.criminal, .countyLines])
        #expect(try MissingReport(json: report.json, source: "t", now: now) == report)
        #expect(try FoundReport(json: found.json, source: "t", now: now) == found)
        let interview = ReturnInterview(
            episodeID: "ep-1", offeredAt: now.addingTimeInterval(-3600), offeredBy: "m.osei", independent: true,
            response: .accepted, heldAt: now.addingTimeInterval(-600), themes: [.peers, .exploitation],
            exploitation: [.criminal], record: "Agreed a safety plan with her carer")
        #expect(try ReturnInterview(json: interview.json, source: "t", now: now) == interview)

        func object(_ bytes: [UInt8]) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        }
        var bad = try object(report.json)
        bad["placingAuthority"] = "Kent"
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "placingAuthority")
        bad = try object(report.json)
        bad["risk"] = "severe"
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "risk")
        bad = try object(report.json)
        bad["exploitation"] = ["cce", "gang"]
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "exploitation[1]")
        bad = try object(report.json)
        bad["child"] = ["forename": "Amy", "surname": "Carter"]
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "child.dateOfBirth")
        bad = try object(report.json)
        bad["lastSeenAt"] = Instant.format(reported.addingTimeInterval(60))
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "lastSeenAt")
        bad = try object(report.json)
        bad["reportedAt"] = Instant.format(now.addingTimeInterval(3600))
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "reportedAt")
        bad = try object(report.json)
        bad["nickname"] = "Ames"
        #expect(reading(bad) { _ = try MissingReport(json: $0, source: "t", now: now) }?.field == "nickname")

        var check = try object(found.json)
        check["safeAndWell"] = ["done": true, "at": Instant.format(reported.addingTimeInterval(9000))]
        #expect(reading(check) { _ = try FoundReport(json: $0, source: "t", now: now) }?.field == "safeAndWell.by")
        check["safeAndWell"] = ["done": false, "by": "PC 4411"]
        #expect(reading(check) { _ = try FoundReport(json: $0, source: "t", now: now) }?.field == "safeAndWell.by")

        var held = try object(interview.json)
        held["record"] = nil
        #expect(reading(held) { _ = try ReturnInterview(json: $0, source: "t", now: now) }?.field == "record")
        held = try object(interview.json)
        held["response"] = "declined"
        #expect(reading(held) { _ = try ReturnInterview(json: $0, source: "t", now: now) }?.field == "heldAt")
        held = try object(interview.json)
        held["heldAt"] = Instant.format(now.addingTimeInterval(-7200))
        #expect(reading(held) { _ = try ReturnInterview(json: $0, source: "t", now: now) }?.field == "heldAt")
        held = try object(interview.json)
        held["independent"] = nil
        #expect(reading(held) { _ = try ReturnInterview(json: $0, source: "t", now: now) }?.field == "independent")
    }

    @Test(
        "a missing report: the review always; the social worker when open; high risk alerts; a placed child's authority gets a copy"
    )
    func missingRouting() {
        let (episode, effects) = MissingEpisode.missing(
            missing(risk: .high, authority: "la-kent"), existing: nil, openCase: true, placingAuthority: "la-kent",
            interviewWithin: 72 * 3600)
        #expect(episode.state == .missing)
        #expect(
            effects == [
                .store(.missing), .review(.missing), .socialWorker(.missing), .alertHighRisk,
                .copyToAuthority(.missing, authority: "la-kent"),
            ])
        let (_, plain) = MissingEpisode.missing(
            missing(risk: .low), existing: nil, openCase: false, placingAuthority: nil, interviewWithin: 72 * 3600)
        #expect(plain == [.store(.missing), .review(.missing)])
        let (_, again) = MissingEpisode.missing(
            missing(), existing: episode, openCase: true, placingAuthority: nil, interviewWithin: 72 * 3600)
        #expect(again.count == 1)
        #expect(again.first.map { if case .ignore = $0 { true } else { false } } == true)
    }

    @Test("a found report starts the 72-hour clock from foundAt; the placing authority is asked for its interview")
    func foundRouting() {
        let (reportedEpisode, _) = MissingEpisode.missing(
            missing(authority: "la-kent"), existing: nil, openCase: false, placingAuthority: "la-kent",
            interviewWithin: 72 * 3600)
        let (episode, effects) = MissingEpisode.found(found, existing: reportedEpisode, interviewWithin: 72 * 3600)
        #expect(episode.state == .found)
        #expect(
            effects == [
                .store(.found), .startClock(due: found.foundAt.addingTimeInterval(72 * 3600)), .review(.found),
                .copyToAuthority(.found, authority: "la-kent"), .requestInterview(authority: "la-kent"),
            ])
        let (_, twice) = MissingEpisode.found(found, existing: episode, interviewWithin: 72 * 3600)
        #expect(twice.count == 1)
    }

    @Test("a found report before its missing report starts the clock and waits; the missing report then sends both")
    func foundFirst() {
        let (early, effects) = MissingEpisode.found(found, existing: nil, interviewWithin: 3600)
        #expect(early.state == .found && !early.reported)
        #expect(effects == [.store(.found), .startClock(due: found.foundAt.addingTimeInterval(3600)), .review(.found)])
        let (episode, then) = MissingEpisode.missing(
            missing(risk: .high, authority: "la-kent"), existing: early, openCase: true, placingAuthority: "la-kent",
            interviewWithin: 3600)
        #expect(episode.state == .found && episode.reported)
        // No high-risk alert: the child is already back.
        #expect(
            then == [
                .store(.missing), .review(.missing), .socialWorker(.missing),
                .copyToAuthority(.missing, authority: "la-kent"), .socialWorker(.found),
                .copyToAuthority(.found, authority: "la-kent"), .requestInterview(authority: "la-kent"),
            ])
    }

    @Test(
        "an interview: only the co-ordinator or the placing authority; after a return; held or declined stops the clock"
    )
    func interviews() {
        let (reportedEpisode, _) = MissingEpisode.missing(
            missing(authority: "la-kent"), existing: nil, openCase: false, placingAuthority: "la-kent",
            interviewWithin: 3600)
        let offer = ReturnInterview(
            episodeID: "ep-1", offeredAt: found.foundAt.addingTimeInterval(600), offeredBy: "m.osei",
            independent: true, response: .accepted)
        func refusal(_ result: Result<(MissingEpisode, [MissingEpisode.Effect]), MissingEpisode.Refusal>) -> String? {
            if case .failure(let refusal) = result { return refusal.reason }
            return nil
        }
        #expect(
            refusal(
                MissingEpisode.interview(
                    offer, existing: nil, from: "missing-coordinator", coordinator: "missing-coordinator"))
                == "unknownEpisode")
        #expect(
            refusal(
                MissingEpisode.interview(
                    offer, existing: reportedEpisode, from: "missing-coordinator", coordinator: "missing-coordinator"))
                == "notReturned")
        let (back, _) = MissingEpisode.found(found, existing: reportedEpisode, interviewWithin: 3600)
        #expect(
            refusal(
                MissingEpisode.interview(offer, existing: back, from: "la-medway", coordinator: "missing-coordinator"))
                == "senderNotAllowed")
        guard
            case .success(let (offered, offerEffects)) = MissingEpisode.interview(
                offer, existing: back, from: "missing-coordinator", coordinator: "missing-coordinator")
        else {
            Issue.record("the offer was refused")
            return
        }
        #expect(offered.state == .found)
        #expect(offerEffects == [.store(.interview)])
        var held = offer
        held.heldAt = found.foundAt.addingTimeInterval(7200)
        held.record = "Talked about school"
        guard
            case .success(let (done, doneEffects)) = MissingEpisode.interview(
                held, existing: offered, from: "la-kent", coordinator: "missing-coordinator")
        else {
            Issue.record("the placing authority's interview was refused")
            return
        }
        #expect(done.state == .concluded)
        #expect(doneEffects == [.store(.interview), .review(.interview), .stopClock])
        var declined = offer
        declined.response = .declined
        #expect(declined.concludes && !offer.concludes)
    }

    @Test("the panel list: three episodes within 90 days, or any exploitation flag")
    func panel() {
        let rule = PanelRule()
        let now = reported
        let days = { (n: Double) in now.addingTimeInterval(-n * 86400) }
        #expect(rule.lists(reportedAt: [days(1), days(30), days(89)], flagged: false, now: now))
        #expect(!rule.lists(reportedAt: [days(1), days(30), days(91)], flagged: false, now: now))
        #expect(rule.lists(reportedAt: [days(1)], flagged: true, now: now))
        #expect(AuthorityName.isValid("la-kent") && AuthorityName.isValid("la-886"))
        #expect(!AuthorityName.isValid("la-") && !AuthorityName.isValid("kent") && !AuthorityName.isValid("la-Kent"))
    }
}
