import Foundation
import Hummingbird
import MASHAgency
import MASHCore

/// The Practice Manager's DAN triage: a day's list, and the triage outcome form on each DAN.
extension Pages {
    struct FormProblem: Error {
        var reason: String
    }

    /// What a posted action form asks for: a decision's outcome and rationale, or a triage outcome with the
    /// enquiry it opens. Enquiry fields sent with another triage outcome are ignored (a changed mind).
    static func actionForm(_ fields: Form, by staffID: String, at now: Date) -> Result<Desk.ActionForm, FormProblem> {
        var form = Desk.ActionForm(
            outcome: fields.outcome.flatMap(DecisionOutcome.init),
            rationale: fields.rationale?.trimmingCharacters(in: .whitespacesAndNewlines))
        guard let code = fields.decision, !code.isEmpty else { return .success(form) }
        guard let decision = TriageDecision(rawValue: code) else {
            return .failure(FormProblem(reason: "choose a triage outcome"))
        }
        form.triage = decision
        guard decision == .openEnquiry else { return .success(form) }
        guard let child = fields.child.flatMap({ Int($0) }) else {
            return .failure(FormProblem(reason: "choose the child the enquiry is about"))
        }
        guard let rag = fields.rag.flatMap(RAG.init) else {
            return .failure(FormProblem(reason: "choose the enquiry's RAG rating"))
        }
        let at = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let trimmed = { (text: String?) in text?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "" }
        switch fields.consent {
        case "given":
            guard !trimmed(fields.givenBy).isEmpty else {
                return .failure(FormProblem(reason: "say who gave consent (a role, such as mother)"))
            }
            form.enquiry = .init(child: child, rag: rag, consent: .given(by: trimmed(fields.givenBy), at: at))
        case "override":
            guard let ground = fields.ground.flatMap(OverrideRationale.init), !trimmed(fields.details).isEmpty else {
                return .failure(FormProblem(reason: "an override needs its ground and the details"))
            }
            let agreements = TriageOutcome.meetingAgencies.map {
                AgencyAgreement(agency: $0, agreedBy: "\($0) at the DAN triage meeting")
            }
            form.enquiry = .init(
                child: child, rag: rag,
                consent: .overridden(
                    ConsentOverride(
                        practiceManager: staffID, agencies: agreements, rationale: ground,
                        details: trimmed(fields.details), agreedAt: at)),
                agencies: TriageOutcome.meetingAgencies)
        default:
            return .failure(FormProblem(reason: "say whether consent was given or overridden"))
        }
        return .success(form)
    }

    /// The values of the triage form on a DAN: the outcomes, and the children an enquiry could be about
    /// (born, with a name and a date of birth).
    static func triageForm(_ document: [String: Any]) -> [String: Any] {
        let notification = document["notification"] as? [String: Any]
        let children = (notification?["children"] as? [[String: Any]] ?? []).enumerated().compactMap {
            index, child -> [String: Any]? in
            guard child["unbornWeeks"] == nil, let forename = child["forename"] as? String,
                let surname = child["surname"] as? String,
                let born = (child["dateOfBirth"] as? String).flatMap(LocalDate.init)
            else { return nil }
            return ["index": index, "name": "\(forename) \(surname), born \(UKTime.date(born))"]
        }
        return [
            "decisions": TriageDecision.allCases.map { ["value": $0.rawValue, "text": DeskDocument.triageName($0)] },
            "children": children, "canOpen": !children.isEmpty,
            "meeting": TriageOutcome.meetingAgencies.map(DeskDocument.words).joined(separator: ", "),
            "grounds": OverrideRationale.allCases.map {
                ["value": $0.rawValue, "text": DeskDocument.words($0.rawValue)]
            },
        ]
    }

    /// `/triage?date=YYYY-MM-DD`: the DANs going to that day's meeting, and those from earlier meetings still
    /// waiting for an outcome. Without a date: the next meeting with DANs on its list (today's, in UK time, or
    /// the next working day's once today's has passed or on a weekend), else today's.
    func triage(_ request: Request) async throws -> Response {
        guard let staff = try await staff(request) else { return .redirect(to: "/sign-in") }
        guard configuration.actions.contains(.triage) else {
            return message("Not found", "This desk has no triage list.", staff: staff, status: .notFound)
        }
        let now = now()
        let today = UKTime.localDate(now)
        let items = try await desk.summaries().filter { $0.1.triageDate != nil }
        let next = items.compactMap { $0.1.triageDate.flatMap(LocalDate.init) }.filter { $0 >= today }.min()
        let day: LocalDate
        if let asked = request.uri.queryParameters.get("date"), !asked.isEmpty {
            guard let parsed = LocalDate(asked) else {
                return message(
                    "Not a date", "The date must be written as YYYY-MM-DD.", staff: staff, status: .badRequest,
                    link: ("/triage", "Today's triage list"))
            }
            day = parsed
        } else {
            day = next ?? today
        }
        await log.record("triage-list", staff: staff.account.id, detail: "\(day)", at: now)
        let rows = { (entries: [(StoredItem, ItemSummary)]) -> [[String: Any]] in
            entries.sorted { $0.0.receivedAt < $1.0.receivedAt }.map { item, summary in
                var row = describe(item, summary, now: now)
                row["about"] = summary.about ?? ""
                row["received"] = UKTime.dateTime(item.receivedAt)
                row["meeting"] = summary.triageDate.flatMap(LocalDate.init).map(UKTime.date) ?? ""
                return row
            }
        }
        let thatDay = rows(items.filter { $0.1.triageDate == day.description })
        let earlier = rows(
            items.filter { item, summary in
                item.status != .done && (summary.triageDate.flatMap(LocalDate.init).map { $0 < day } ?? false)
            })
        let waiting = items.filter { $0.0.status != .done && $0.1.triageDate == day.description }.count
        return page(
            "triage",
            [
                "title": "DAN triage", "day": UKTime.date(day), "date": day.description, "items": thatDay,
                "hasItems": !thatDay.isEmpty, "earlier": earlier, "hasEarlier": !earlier.isEmpty,
                "waiting": waiting == 1 ? "1 DAN" : "\(waiting) DANs",
            ], staff: staff)
    }
}
