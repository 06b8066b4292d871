import Foundation
import MASHCore
import Testing

@Suite("The enquiry lifecycle and the SLA timer rules, without a broker or a store")
struct EnquiryLifecycleTests {
    /// Police and health mandatory, housing optional, all three asked.
    func redEnquiry() -> EnquiryLifecycle {
        EnquiryLifecycle(
            status: .awaiting,
            requests: [
                .init(id: "r-health", agency: "health", mandatory: true, status: .sent),
                .init(id: "r-housing", agency: "housing", mandatory: false, status: .sent),
                .init(id: "r-police", agency: "police", mandatory: true, status: .sent),
            ])
    }

    @Test("an answer is recorded; the package waits until every mandatory agency asked has answered")
    func waitsForMandatory() {
        var lifecycle = redEnquiry()
        #expect(lifecycle.answer("r-police") == [.recordAnswer(request: "r-police")])
        #expect(lifecycle.status == .awaiting)
        #expect(lifecycle.waitingFor.map(\.agency) == ["health"])
        #expect(lifecycle.answer("r-housing") == [.recordAnswer(request: "r-housing")])
        #expect(lifecycle.status == .awaiting)
    }

    @Test("the last mandatory answer cancels the optional requests still open, then delivers the package")
    func lastMandatoryDelivers() {
        var lifecycle = redEnquiry()
        _ = lifecycle.answer("r-police")
        #expect(
            lifecycle.answer("r-health") == [
                .recordAnswer(request: "r-health"), .cancelRequest(request: "r-housing", agency: "housing"),
                .deliverPackage,
            ])
        #expect(lifecycle.status == .complete)
        #expect(lifecycle.requests.map(\.status) == [.answered, .cancelled, .answered])
    }

    @Test("an optional agency's answer arriving just after the package is ignored, not added and not refused")
    func lateOptionalAnswerIgnored() {
        var lifecycle = redEnquiry()
        _ = lifecycle.answer("r-police")
        _ = lifecycle.answer("r-health")
        #expect(lifecycle.answer("r-housing") == [.ignoreAnswer(request: "r-housing", status: .cancelled)])
        #expect(lifecycle.status == .complete)
    }

    @Test("a second answer to the same request changes nothing")
    func repeatedAnswer() {
        var lifecycle = redEnquiry()
        _ = lifecycle.answer("r-police")
        let before = lifecycle
        #expect(lifecycle.answer("r-police") == [.ignoreAnswer(request: "r-police", status: .answered)])
        #expect(lifecycle == before)
    }

    @Test("with no mandatory agency, the package waits for every agency asked")
    func noMandatoryWaitsForAll() {
        var lifecycle = EnquiryLifecycle(
            status: .awaiting,
            requests: [
                .init(id: "a", agency: "education", mandatory: false, status: .sent),
                .init(id: "b", agency: "housing", mandatory: false, status: .sent),
            ])
        #expect(lifecycle.answer("a") == [.recordAnswer(request: "a")])
        #expect(lifecycle.answer("b") == [.recordAnswer(request: "b"), .deliverPackage])
    }

    @Test("consent withdrawn: every open request is cancelled and the enquiry closes; answers after are ignored")
    func withdrawal() {
        var lifecycle = redEnquiry()
        _ = lifecycle.answer("r-police")
        #expect(
            lifecycle.withdraw() == [
                .cancelRequest(request: "r-health", agency: "health"),
                .cancelRequest(request: "r-housing", agency: "housing"), .closeWithdrawn,
            ])
        #expect(lifecycle.status == .withdrawn)
        #expect(lifecycle.answer("r-health") == [.ignoreAnswer(request: "r-health", status: .cancelled)])
        #expect(lifecycle.withdraw() == [], "a second withdrawal changes nothing")
    }

    @Test("consent withdrawn after the package went changes nothing")
    func withdrawalAfterComplete() {
        var lifecycle = redEnquiry()
        _ = lifecycle.answer("r-police")
        _ = lifecycle.answer("r-health")
        let before = lifecycle
        #expect(lifecycle.withdraw() == [])
        #expect(lifecycle == before)
    }

    @Test(
        "a request's timer fires only while it is open; the decision clock until the decision (not just the package)"
    )
    func timersFire() {
        var lifecycle = redEnquiry()
        #expect(lifecycle.fires(.request(enquiry: "e", request: "r-police")))
        #expect(lifecycle.fires(.enquiry("e")))
        _ = lifecycle.answer("r-police")
        #expect(!lifecycle.fires(.request(enquiry: "e", request: "r-police")))
        #expect(lifecycle.fires(.request(enquiry: "e", request: "r-health")))
        _ = lifecycle.answer("r-health")
        #expect(!lifecycle.fires(.request(enquiry: "e", request: "r-housing")), "cancelled with the package")
        #expect(lifecycle.fires(.enquiry("e")), "the package is delivered, the decision not yet made")
        #expect(lifecycle.decide() == [.recordDecision])
        #expect(!lifecycle.fires(.enquiry("e")))
    }

    @Test("a decision is taken once, and only on a delivered package")
    func decisions() {
        var lifecycle = redEnquiry()
        let early = lifecycle.decide()
        #expect(early.count == 1)
        if case .refuseDecision(let reason, _)? = early.first {
            #expect(reason == "notDecidable")
        } else {
            Issue.record("a decision before the package was not refused: \(early)")
        }
        #expect(lifecycle.status == .awaiting)
        _ = lifecycle.answer("r-police")
        _ = lifecycle.answer("r-health")
        #expect(lifecycle.decide() == [.recordDecision])
        #expect(lifecycle.status == .decided)
        let again = lifecycle.decide()
        if case .refuseDecision(let reason, _)? = again.first {
            #expect(reason == "alreadyDecided")
        } else {
            Issue.record("a second decision was not refused: \(again)")
        }
        #expect(lifecycle.status == .decided)
        #expect(lifecycle.withdraw() == [], "a decided enquiry cannot be withdrawn")
        #expect(lifecycle.answer("r-housing") == [.ignoreAnswer(request: "r-housing", status: .cancelled)])

        var withdrawn = redEnquiry()
        _ = withdrawn.withdraw()
        if case .refuseDecision(let reason, _)? = withdrawn.decide().first {
            #expect(reason == "notDecidable")
        } else {
            Issue.record("a decision on a withdrawn enquiry was not refused")
        }
    }

    @Test("a timer row's owner: a request's, the enquiry's, or an Encompass notice's (whose enquiry column is a DAN)")
    func timerOwners() {
        #expect(
            TimerOwner(clock: "partners", enquiryColumn: "e", requestColumn: "r")
                == .request(enquiry: "e", request: "r"))
        #expect(TimerOwner(clock: "decision", enquiryColumn: "e", requestColumn: nil) == .enquiry("e"))
        #expect(
            TimerOwner(clock: "encompass", enquiryColumn: "dan-1", requestColumn: "notice-1")
                == .encompassNotice(notice: "notice-1", dan: "dan-1"))
    }

    @Test("a warning alerts only; a breach alerts, chases the agency and sets the next chase one interval on")
    func warningAndBreach() {
        let rule = SLATimerRule(chaseEvery: 3600)
        let due = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(rule.effects(of: .warning, due: due, firedAt: due, agency: "police") == [.alertPracticeManager])
        #expect(
            rule.effects(of: .breach, due: due, firedAt: due.addingTimeInterval(2), agency: "police") == [
                .alertPracticeManager, .chaseAgency("police"), .scheduleChase(at: due.addingTimeInterval(3600)),
            ])
        #expect(
            rule.effects(of: .breach, due: due, firedAt: due, agency: nil) == [
                .alertPracticeManager, .scheduleChase(at: due.addingTimeInterval(3600)),
            ], "the decision clock has no agency to chase")
    }

    @Test("after a restart that missed chases, one chase is sent and the next keeps the original rhythm")
    func missedChasesAfterRestart() {
        let rule = SLATimerRule(chaseEvery: 3600)
        let due = Date(timeIntervalSince1970: 1_800_000_000)
        // Down for 3.5 intervals: one chase now, the next at the 4th interval, not 3,600 s from now.
        let effects = rule.effects(of: .chase, due: due, firedAt: due.addingTimeInterval(3.5 * 3600), agency: "yos")
        #expect(
            effects == [
                .alertPracticeManager, .chaseAgency("yos"), .scheduleChase(at: due.addingTimeInterval(4 * 3600)),
            ])
    }

    @Test("every stored status reads back as its enum, and nothing else does")
    func statusesRoundTrip() {
        for status in EnquiryStatus.allCases { #expect(EnquiryStatus(rawValue: status.rawValue) == status) }
        for status in RequestStatus.allCases { #expect(RequestStatus(rawValue: status.rawValue) == status) }
        #expect(EnquiryStatus(rawValue: "Complete") == nil)
        #expect(RequestStatus(rawValue: "pending") == nil)
    }
}
