import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHRuntime
import MASHTesting
import Sealing
import Testing

private func object(_ opened: OpenedMessage) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(opened.payload)) as? [String: Any])
}

/// A teacher's contact about Ellie Testperson (the demonstration child every test agency holds).
private func contact(consent: Contact.ParentalConsent = .given) -> Contact {
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
    return Contact(
        id: TestNames.messageID(), reference: "MC-\(Int.random(in: 100_000...999_999))", sentAt: now,
        referrer: .init(
            staffID: "t.okoro", name: "Tayo Okoro", organisation: "Sample Primary School (990001)",
            role: "Designated Safeguarding Lead"),
        child: Person(
            forename: "Ellie", surname: "Testperson", dateOfBirth: LocalDate(year: 2016, month: 3, day: 14),
            postcode: "ME4 4AA"),
        household: [Person(role: "mother", forename: "Jo", surname: "Testperson")],
        concern: "Bruising to Ellie's upper arm; she said her dad grabbed her.",
        actionsTaken: "Recorded her words, told the head teacher.", parentsAware: consent == .given, consent: consent)
}

private func screening(
    _ contact: Contact, _ decision: ScreeningDecision, enquiry: Screening.EnquiryRequest? = nil,
    feedback: String = "Thank you: the MASH will look into this today."
) -> Screening {
    Screening(
        contactID: contact.id, decision: decision, enquiry: enquiry,
        rationale: "Disclosure of physical harm by a parent.", feedback: feedback, screenedBy: "rio.spa",
        screenedAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
}

extension CoordinatorBrokerTests {
    @Suite("The front door against the real broker: contacts, screening, feedback")
    struct FrontDoorTests {
        @Test(
            "the professional who made a contact challenges the decision on it from the portal, by the contact: the outcome names the enquiry, the Area Manager gets it with the enquiry filled in, each stage goes back to the portal; another professional, and a contact only screened, are refused"
        )
        func challengeFromThePortal() async throws {
            try await Harness.with("front-door-challenge") { harness in
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                let screened = contact()
                let made = contact()
                for one in [screened, made] {
                    try await harness.send(one.json, type: .contact, from: "portal", routingKey: "contact")
                }
                _ = try await harness.take(2, from: "spa.notices", as: "spa")
                try await harness.send(
                    screening(screened, .noFurtherAction).json, type: .screening, from: "spa", routingKey: "contact")
                let first = try await harness.takeWithHeaders(1, from: "portal.notices", as: "portal")
                #expect(first[0].headers["x-mash-enquiry"] == nil, "a screening names no enquiry")
                let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                try await harness.send(
                    screening(
                        made, .mashEnquiry,
                        enquiry: .init(rag: .red, consent: .given(by: "mother", at: now), agencies: ["police"])
                    ).json, type: .screening, from: "spa", routingKey: "contact")
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let enquiryID = try #require((try object(package[0])["enquiry"] as? [String: Any])?["id"] as? String)
                let decision = Decision(
                    enquiryID: enquiryID, outcome: .noFurtherAction, rationale: "Below the threshold.",
                    decidedBy: "dm-jones", decidedAt: Date())
                try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")
                let told = try await harness.takeWithHeaders(1, from: "portal.notices", as: "portal")
                #expect(told[0].headers["x-mash-enquiry"] == enquiryID)

                func challenge(_ contactID: String, by staffID: String = "t.okoro") -> Challenge {
                    Challenge(
                        id: TestNames.messageID(), enquiryID: "", contactID: contactID,
                        raisedBy: .init(staffID: staffID, name: "Tayo Okoro", role: "Designated Safeguarding Lead"),
                        grounds: "She has told us more since: we ask for the decision to be looked at again.",
                        raisedAt: now)
                }
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                for (sent, reason, detail) in [
                    (challenge(made.id, by: "b.other"), "notAParty", "only the professional who made contact"),
                    (challenge(screened.id), "notDecided", "screened (no-further-action)"),
                ] {
                    try await harness.send(sent.json, type: .challenge, from: "portal", routingKey: "challenge")
                    let refused = try await dead.next(within: .seconds(30), "a challenge refused \(reason)")
                    #expect(refused.properties.headers["x-mash-reason"]?.string == reason)
                    #expect(refused.properties.headers["x-mash-detail"]?.string?.contains(detail) == true)
                    try refused.ack()
                }

                let raised = challenge(made.id)
                try await harness.send(raised.json, type: .challenge, from: "portal", routingKey: "challenge")
                let heard = try await harness.take(1, from: "area-manager.challenges", as: "area-manager")
                let forwarded = try Challenge(json: heard[0].payload, source: "test")
                #expect(forwarded.enquiryID == enquiryID && forwarded.contactID == made.id && forwarded.id == raised.id)
                let stage = try await harness.take(1, from: "portal.notices", as: "portal")
                let record = try ChallengeStageRecord(json: stage[0].payload, source: "test")
                #expect(record.challengeID == raised.id && record.stage == .raised)
                #expect(
                    try harness.query {
                        try String.fetchOne(
                            $0, sql: "SELECT raised_by FROM challenge WHERE id = ?", arguments: [raised.id])
                    } == "portal")
            }
        }

        @Test(
            "a teacher's contact reaches the SPA; screened into a Red enquiry with consent, answered and decided; the teacher's portal is told the outcome in words, without the agencies' findings"
        )
        func contactToOutcome() async throws {
            try await Harness.with("front-door") { harness in
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                let made = contact()
                try await harness.send(made.json, type: .contact, from: "portal", routingKey: "contact")
                let arrived = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(arrived[0].type == "mash.contact/1")
                #expect(try Contact(json: arrived[0].payload, source: "test") == made)

                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                // Only the SPA screens; and not without consent or an override.
                try await harness.send(
                    screening(made, .noFurtherAction).json, type: .screening, from: "practice-manager",
                    routingKey: "contact")
                let forged = try await dead.next(within: .seconds(30), "a screening from the Practice Manager")
                #expect(forged.properties.headers["x-mash-reason"]?.string == "senderNotAllowed")
                try forged.ack()
                let noConsent = screening(
                    made, .mashEnquiry,
                    enquiry: .init(rag: .red, consent: .notGiven("not asked yet"), agencies: ["police"]))
                try await harness.send(noConsent.json, type: .screening, from: "spa", routingKey: "contact")
                let refused = try await dead.next(within: .seconds(30), "a screening without consent")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "consentRequired")
                try refused.ack()
                #expect(
                    try harness.query { try String.fetchOne($0, sql: "SELECT state FROM contact") } == "received")

                let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                let red = screening(
                    made, .mashEnquiry,
                    enquiry: .init(rag: .red, consent: .given(by: "mother", at: now), agencies: ["police"]))
                try await harness.send(red.json, type: .screening, from: "spa", routingKey: "contact")
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let opened = try object(package[0])
                let enquiry = try #require(opened["enquiry"] as? [String: Any])
                #expect(enquiry["reference"] as? String == made.reference)
                #expect(enquiry["referrer"] as? String == "rio.spa")
                let enquiryID = try #require(enquiry["id"] as? String)
                try await harness.send(
                    screening(made, .noFurtherAction).json, type: .screening, from: "spa", routingKey: "contact")
                let twice = try await dead.next(within: .seconds(30), "a second screening")
                #expect(twice.properties.headers["x-mash-reason"]?.string == "alreadyScreened")
                try twice.ack()

                let decision = Decision(
                    enquiryID: enquiryID, outcome: .strategyDiscussion, rationale: "s47 threshold met.",
                    decidedBy: "dm-jones", decidedAt: Date())
                try await harness.send(decision.json, type: .decision, from: "decision-maker", routingKey: "decision")
                let told = try await harness.take(1, from: "portal.notices", as: "portal")
                let outcome = try object(told[0])
                #expect(outcome["contactID"] as? String == made.id && outcome["referrer"] as? String == "t.okoro")
                #expect(outcome["outcome"] as? String == "strategy-discussion")
                #expect((outcome["feedback"] as? String)?.contains("strategy discussion") == true)
                #expect(!String(decoding: told[0].payload, as: UTF8.self).contains("findings"))
                #expect(!String(decoding: told[0].payload, as: UTF8.self).contains("s47 threshold met"))
                #expect(
                    try harness.query { try String.fetchOne($0, sql: "SELECT state FROM contact") } == "told")
                // The record of sharing: the contact in, to the SPA, and the outcome to the portal.
                let recipients = try harness.query {
                    try String.fetchAll(
                        $0, sql: "SELECT recipient FROM record_of_sharing WHERE enquiry_id = ? ORDER BY seq",
                        arguments: [made.id])
                }
                #expect(recipients == ["coordinator", "spa", "portal"])
            }
        }

        @Test(
            "no further action tells the referrer at once with the SPA's advice; a contact not screened by the close of the next working day alerts the Practice Manager once"
        )
        func adviceAndClock() async throws {
            try await Harness.with("front-door-clock") { harness in
                try await harness.startInProcess()
                let advised = contact()
                try await harness.send(advised.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(1, from: "spa.notices", as: "spa")
                try await harness.send(
                    screening(advised, .noFurtherAction, feedback: "Keep recording; speak to the school nurse.").json,
                    type: .screening, from: "spa", routingKey: "contact")
                let told = try await harness.take(1, from: "portal.notices", as: "portal")
                #expect(try object(told[0])["feedback"] as? String == "Keep recording; speak to the school nurse.")
                // The portal holds it: the feedback clock stops (else its alert would come first below).
                let receipt = DeliveryReceipt(
                    messageID: told[0].messageID, kind: .contactOutcome, about: advised.id, receivedAt: Date())
                try await harness.send(receipt.json, type: .deliveryReceipt, from: "portal", routingKey: "contact")
                try await harness.eventually("the receipt is recorded") {
                    try harness.query {
                        try Bool.fetchOne(
                            $0, sql: "SELECT delivered_at IS NOT NULL FROM contact WHERE id = ?",
                            arguments: [advised.id])
                    } == true
                }

                let waiting = contact(consent: .notSought("telling the parents could put her at risk"))
                try await harness.send(waiting.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(1, from: "spa.notices", as: "spa")
                let due = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT screen_due FROM contact WHERE id = ?", arguments: [waiting.id])
                    })
                harness.clockOffset.withLock { $0 = due - Date().timeIntervalSince1970 + 1 }
                let alert = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                let notice = try Notice(json: alert[0].payload, source: "test")
                #expect(notice.enquiryID == waiting.id && notice.clock == "screening" && notice.event == .breach)
                // Once: the next message there is another contact's alert, not this one's again.
                let late = contact()
                try await harness.send(late.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(1, from: "spa.notices", as: "spa")
                let lateDue = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT screen_due FROM contact WHERE id = ?", arguments: [late.id])
                    })
                harness.clockOffset.withLock { $0 = lateDue - Date().timeIntervalSince1970 + 1 }
                let next = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                #expect(try Notice(json: next[0].payload, source: "test").enquiryID == late.id)
            }
        }

        @Test(
            "a contact without the child's date of birth is screened into an enquiry only once the SPA gives it; refused whole before"
        )
        func dateOfBirth() async throws {
            try await Harness.with("front-door-born") { harness in
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                var made = contact()
                made.child.dateOfBirth = nil
                try await harness.send(made.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(1, from: "spa.notices", as: "spa")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                var red = screening(
                    made, .mashEnquiry,
                    enquiry: .init(rag: .red, consent: .given(by: "mother", at: now), agencies: ["police"]))
                try await harness.send(red.json, type: .screening, from: "spa", routingKey: "contact")
                let refused = try await dead.next(within: .seconds(30), "an enquiry without a date of birth")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "enquiryIncomplete")
                try refused.ack()
                #expect(try harness.query { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM enquiry") } == 0)
                red.enquiry?.dateOfBirth = LocalDate(year: 2016, month: 3, day: 14)
                try await harness.send(red.json, type: .screening, from: "spa", routingKey: "contact")
                let package = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let subject = try #require(
                    (try object(package[0])["enquiry"] as? [String: Any])?["subject"] as? [String: Any])
                #expect(subject["dateOfBirth"] as? String == "2016-03-14")
            }
        }

        @Test(
            "feedback the referrer's portal has not confirmed within one working day of the decision alerts the Practice Manager once; a receipt from another portal is refused"
        )
        func lateFeedback() async throws {
            try await Harness.with("front-door-feedback") { harness in
                try await harness.startInProcess()
                let made = contact()
                try await harness.send(made.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(1, from: "spa.notices", as: "spa")
                try await harness.send(
                    screening(made, .earlyHelp, feedback: "Early Help will contact the family.").json,
                    type: .screening, from: "spa", routingKey: "contact")
                let told = try await harness.take(1, from: "portal.notices", as: "portal")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                let wrong = DeliveryReceipt(
                    messageID: told[0].messageID, kind: .contactOutcome, about: TestNames.messageID(),
                    receivedAt: Date())
                try await harness.send(wrong.json, type: .deliveryReceipt, from: "portal", routingKey: "contact")
                let refused = try await dead.next(within: .seconds(30), "a receipt for no contact")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "unknownFeedback")
                try refused.ack()
                let due = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT feedback_due FROM contact WHERE id = ?", arguments: [made.id])
                    })
                let toldAt = try #require(
                    try harness.query {
                        try Double.fetchOne($0, sql: "SELECT told_at FROM contact WHERE id = ?", arguments: [made.id])
                    })
                #expect(due - toldAt >= 86400 - 3600, "one working day: at least a day later")
                harness.clockOffset.withLock { $0 = due - Date().timeIntervalSince1970 + 1 }
                let alert = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                let notice = try Notice(json: alert[0].payload, source: "test")
                #expect(notice.enquiryID == made.id && notice.clock == "feedback" && notice.event == .breach)
                #expect(
                    try harness.query {
                        try Int.fetchOne(
                            $0, sql: "SELECT COUNT(*) FROM timer WHERE enquiry_id = ? AND fired_at IS NULL",
                            arguments: [made.id])
                    } == 0, "nothing more is due: it alerts once")
            }
        }

        @Test(
            "a no-name consultation's summary reaches the professional's portal; one naming an NHS number is refused; the professional (only) asks for a correction, which reaches the SPA; a summary not confirmed within a working day alerts"
        )
        func consultations() async throws {
            try await Harness.with("front-door-consultation") { harness in
                try await harness.startInProcess()
                let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
                let consultation = Consultation(
                    id: TestNames.messageID(), reference: "NNC-20261207-ABC123", heldAt: now,
                    professional: .init(
                        staffID: "t.okoro", organisation: "Sample Primary School", role: "Designated Safeguarding Lead"),
                    concern: "A pupil in Year 4 has come to school hungry most days this half term.",
                    advice: "Talk to the parents about free school meals and Early Help; record what you see.",
                    recommendation: .earlyHelp, socialWorker: "sw.bello")
                try await harness.send(consultation.json, type: .consultation, from: "spa", routingKey: "contact")
                let summary = try await harness.take(1, from: "portal.notices", as: "portal")
                #expect(try Consultation(json: summary[0].payload, source: "test") == consultation)

                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                var named = consultation
                named.id = TestNames.messageID()
                named.concern = "The child (NHS number 943 476 5919) comes to school hungry."
                try await harness.send(named.json, type: .consultation, from: "spa", routingKey: "contact")
                let refused = try await dead.next(within: .seconds(30), "a consultation naming an NHS number")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "invalidDocument")
                #expect(refused.properties.headers["x-mash-detail"]?.string?.contains("field 'concern'") == true)
                try refused.ack()

                let asked = ConsultationCorrection(
                    id: TestNames.messageID(), consultationID: consultation.id, reference: consultation.reference,
                    requestedBy: "t.okoro", text: "It was most days this term, not this half term.", requestedAt: now)
                var stranger = asked
                stranger.id = TestNames.messageID()
                stranger.requestedBy = "g.other"
                try await harness.send(
                    stranger.json, type: .consultationCorrection, from: "portal", routingKey: "contact")
                let notTheirs = try await dead.next(within: .seconds(30), "another professional's correction")
                #expect(notTheirs.properties.headers["x-mash-reason"]?.string == "notTheProfessional")
                try notTheirs.ack()
                try await harness.send(asked.json, type: .consultationCorrection, from: "portal", routingKey: "contact")
                let correction = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(try ConsultationCorrection(json: correction[0].payload, source: "test") == asked)

                let due = try #require(
                    try harness.query {
                        try Double.fetchOne(
                            $0, sql: "SELECT summary_due FROM consultation WHERE id = ?", arguments: [consultation.id])
                    })
                harness.clockOffset.withLock { $0 = due - Date().timeIntervalSince1970 + 1 }
                let alert = try await harness.take(1, from: "practice-manager.alerts", as: "practice-manager")
                let notice = try Notice(json: alert[0].payload, source: "test")
                #expect(notice.enquiryID == consultation.id && notice.clock == "consultation-summary")
                // The ledger: in from the SPA, out to the portal, the correction to the SPA; none names a child.
                let entries = try harness.query {
                    try Row.fetchAll(
                        $0, sql: "SELECT recipient, subjects FROM record_of_sharing WHERE enquiry_id = ? ORDER BY seq",
                        arguments: [consultation.id])
                }
                #expect(entries.map { $0["recipient"] as String } == ["coordinator", "portal", "spa"])
                #expect(entries.allSatisfy { ($0["subjects"] as String?) ?? "" == "" })
            }
        }

        @Test(
            "an answered contact and a consultation reach the end of their periods: rows, timers and data keys go, the ledger records each purge and verifies; a contact still on the SPA's list is kept"
        )
        func retentionAndErasure() async throws {
            try await Harness.with("front-door-retention") { harness in
                let file = harness.scratch.file("retention.yaml")
                try CoordinatorBrokerTests.RetentionTests.schedule([.contacts: "4s", .consultations: "4s"]).write(
                    toFile: file, atomically: true, encoding: .utf8)
                harness.retentionFile.withLock { $0 = file }
                try await harness.startInProcess()
                let waiting = contact()
                try await harness.send(waiting.json, type: .contact, from: "portal", routingKey: "contact")
                let answered = contact()
                try await harness.send(answered.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(2, from: "spa.notices", as: "spa")
                try await harness.send(
                    screening(answered, .noFurtherAction).json, type: .screening, from: "spa", routingKey: "contact")
                _ = try await harness.take(1, from: "portal.notices", as: "portal")
                let consultation = Consultation(
                    id: TestNames.messageID(), reference: "NNC-20261207-RET001",
                    heldAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
                    professional: .init(staffID: "t.okoro", organisation: "Sample Primary School", role: "DSL"),
                    concern: "A pupil is often late and tired.", advice: "Speak to the parents; record it.",
                    recommendation: .adviceOnly, socialWorker: "sw.bello")
                try await harness.send(consultation.json, type: .consultation, from: "spa", routingKey: "contact")
                _ = try await harness.take(1, from: "portal.notices", as: "portal")
                let dataKey = try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/coordinator/data-at-rest.key")

                try await harness.eventually("the answered contact and the consultation purged") {
                    try harness.query {
                        try String.fetchAll($0, sql: "SELECT id FROM contact")
                            + String.fetchAll($0, sql: "SELECT id FROM consultation")
                    } == [waiting.id]
                }
                let keys = try harness.contentKeys(wrapping: dataKey)
                #expect(try !keys.hasKey("contact:\(answered.id)") && !keys.hasKey("consultation:\(consultation.id)"))
                // The contact still on the SPA's list is kept, and so is its screening clock.
                #expect(try keys.hasKey("contact:\(waiting.id)"))
                let timers = try harness.query {
                    try String.fetchAll($0, sql: "SELECT DISTINCT enquiry_id FROM timer WHERE fired_at IS NULL")
                }
                #expect(timers == [waiting.id])
                let purges = try harness.query {
                    try Row.fetchAll(
                        $0, sql: "SELECT enquiry_id, purpose FROM record_of_sharing WHERE recipient = 'retention'")
                }
                #expect(
                    Set(purges.map { "\($0["enquiry_id"] as String) \($0["purpose"] as String)" }) == [
                        "\(answered.id) purged: contacts, 4s from closure",
                        "\(consultation.id) purged: consultations, 4s from receipt",
                    ])
                let verify = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verify.status == 0, "\(verify.output)")
            }
        }

        @Test(
            "with two partners' portals each has its own queue; a consultation must name the professional's portal, and goes to its queue"
        )
        func twoPortals() async throws {
            let routing = try String(contentsOfFile: Repository.path("Config/routing.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "portals: [portal]", with: "portals: [portal-kmpt, portal-nelft]")
            try await Harness.with("front-door-portals", routing: routing) { harness in
                let signatories = harness.scratch.file("signatories.yaml")
                try
                    (String(contentsOfFile: Repository.path("Config/signatories.yaml"), encoding: .utf8)
                    + "  portal-kmpt: {signed: 2026-12-01}\n").write(
                        toFile: signatories, atomically: true, encoding: .utf8)
                harness.signatoriesFile.withLock { $0 = signatories }
                try await harness.startInProcess()
                // The second portal's queue is declared (consuming from a missing queue fails).
                _ = try await harness.admin.consume(queue: "portal-kmpt.notices")
                _ = try await harness.admin.consume(queue: "portal-nelft.notices")
                let dead = try await harness.admin.consume(queue: "coordinator.notifications.dlq")
                var consultation = Consultation(
                    id: TestNames.messageID(), reference: "NNC-20261207-TWO001",
                    heldAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)),
                    professional: .init(staffID: "t.okoro", organisation: "Sample Primary School", role: "DSL"),
                    concern: "A pupil is often late and tired.", advice: "Speak to the parents; record it.",
                    recommendation: .adviceOnly, socialWorker: "sw.bello")
                try await harness.send(consultation.json, type: .consultation, from: "spa", routingKey: "contact")
                let refused = try await dead.next(within: .seconds(30), "a consultation naming no portal")
                #expect(refused.properties.headers["x-mash-reason"]?.string == "portalRequired")
                try refused.ack()
                consultation.professional.portal = "portal-kmpt"
                try await harness.send(consultation.json, type: .consultation, from: "spa", routingKey: "contact")
                let summary = try await harness.take(1, from: "portal-kmpt.notices", as: "portal-kmpt")
                #expect(try Consultation(json: summary[0].payload, source: "test") == consultation)
            }
        }

        @Test("an erasure of the child takes the hub's copy of an answered contact; one still being screened is kept")
        func erasure() async throws {
            try await Harness.with("front-door-erasure") { harness in
                try await harness.startInProcess()
                let answered = contact()
                try await harness.send(answered.json, type: .contact, from: "portal", routingKey: "contact")
                let waiting = contact()
                try await harness.send(waiting.json, type: .contact, from: "portal", routingKey: "contact")
                _ = try await harness.take(2, from: "spa.notices", as: "spa")
                try await harness.send(
                    screening(answered, .earlyHelp).json, type: .screening, from: "spa", routingKey: "contact")
                _ = try await harness.take(1, from: "portal.notices", as: "portal")
                try await harness.eventually("the referrer told") {
                    try harness.query {
                        try String.fetchOne($0, sql: "SELECT state FROM contact WHERE id = ?", arguments: [answered.id])
                    } == "told"
                }
                let result = try await harness.mashctl(
                    [
                        "subject", "erase", "--forename", "Ellie", "--surname", "Testperson", "--dob", "2016-03-14",
                        "--reason", "R-2026-13", "--staff", "d.khan", "--keys", harness.hub.keys.path,
                    ] + (try harness.operatorOptions()))
                #expect(result.status == 0, "\(result.output)")
                #expect(result.output.contains("1 closed record erased at the hub"), "\(result.output)")
                let left = try harness.query { try String.fetchAll($0, sql: "SELECT id FROM contact") }
                #expect(left == [waiting.id])
                // The portal and the SPA, which were sent her details, are each sent the erasure.
                let portal = try await harness.take(1, from: "portal.notices", as: "portal")
                #expect(portal[0].type == "mash.correction/1")
                let spa = try await harness.take(1, from: "spa.notices", as: "spa")
                #expect(spa[0].type == "mash.correction/1")
                let verify = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verify.status == 0, "\(verify.output)")
            }
        }
    }
}
