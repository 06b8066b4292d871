import Foundation
import Hummingbird
import MASHAgency
import MASHCore

/// The MASH's meetings and its dispute route on the desks: a MASH meeting's list with its attendance and
/// outcomes form (the Practice Manager), the challenge form on an outcome, and a challenge's stages (the
/// Practice Manager's discussion at the MASH; the First Response Area Manager's later stages).
extension Pages {
    private static func trimmed(_ fields: Form, _ name: String) -> String {
        fields.values[name]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// The meeting form's rows: each enquiry on a MASH meeting's list with the outcomes to choose from.
    static func meetingForm(_ document: [String: Any], staff: StaffAccount, now: Date) -> [String: Any]? {
        guard document["kind"] as? String == MeetingSchedule.Kind.mash.rawValue else { return nil }
        let items = (document["items"] as? [[String: Any]] ?? []).enumerated().map { index, item -> [String: Any] in
            [
                "index": index, "enquiryID": item["enquiryID"] as? String ?? "",
                "reference": item["reference"] as? String ?? "", "rag": item["rag"] as? String ?? "",
                "why": item["why"] as? String == "answers-in"
                    ? "answers in" : "its clock runs out before the next meeting",
                "invited": (item["invited"] as? [String] ?? []).joined(separator: ", "),
                "decidable": item["why"] as? String == "answers-in",
            ]
        }
        let invited = document["invited"] as? [String] ?? []
        return [
            "items": items, "hasItems": !items.isEmpty, "invited": invited.joined(separator: ", "),
            "attendees": "\(staff.id), \(staff.name), csc",
            "outcomes": DecisionOutcome.allCases.map { ["value": $0.rawValue, "text": DeskDocument.outcomeName($0)] },
        ]
    }

    /// What the posted meeting form says: attendees one per line (`staff id, name, agency`), and for each
    /// enquiry the outcome agreed (none: not decided at this meeting) and the note.
    static func meetingAction(_ fields: Form, document: [String: Any], staff: StaffAccount, now: Date)
        -> Result<Desk.ActionForm, FormProblem>
    {
        var attendees: [MeetingRecord.Attendee] = []
        // A browser sends a textarea's lines with CRLF.
        let lines = trimmed(fields, "attendees").split(whereSeparator: \.isNewline).filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        for (number, line) in lines.enumerated() {
            let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }), PartyName.isValid(parts[2]) else {
                return .failure(
                    FormProblem(
                        reason: "attendee line \(number + 1) must be 'staff id, name, agency' (for example: "
                            + "ds.hughes, DS Hughes, police)"))
            }
            attendees.append(.init(staffID: parts[0], name: parts[1], agency: parts[2]))
        }
        guard !attendees.isEmpty else { return .failure(FormProblem(reason: "list who attended, one per line")) }
        var items: [MeetingRecord.Item] = []
        for (index, item) in (document["items"] as? [[String: Any]] ?? []).enumerated() {
            guard let enquiryID = item["enquiryID"] as? String else { continue }
            let chosen = trimmed(fields, "agreed-\(index)")
            guard !chosen.isEmpty else { continue }
            guard let outcome = DecisionOutcome(rawValue: chosen) else {
                return .failure(
                    FormProblem(reason: "choose an outcome for \(item["reference"] as? String ?? enquiryID)"))
            }
            let note = trimmed(fields, "note-\(index)")
            guard !note.isEmpty else {
                return .failure(
                    FormProblem(
                        reason: "write what was agreed and why for \(item["reference"] as? String ?? enquiryID)"))
            }
            items.append(.init(enquiryID: enquiryID, agreed: outcome, note: note))
        }
        guard let heldAt = UKTime.fromInput(trimmed(fields, "heldAt")), heldAt <= now.addingTimeInterval(300) else {
            return .failure(FormProblem(reason: "give when the meeting was held (not in the future)"))
        }
        var form = Desk.ActionForm()
        form.meeting = MeetingRecord(
            meetingID: "", heldAt: heldAt, recordedBy: staff.id, attendees: attendees, items: items)
        return .success(form)
    }

    /// The challenge form on an outcome: a fresh id, so a form sent twice is one challenge.
    static func challengeForm() -> [String: Any] { ["formID": UUID().uuidString.lowercased()] }

    static func challengeAction(_ fields: Form, staff: StaffAccount, now: Date) -> Result<Desk.ActionForm, FormProblem>
    {
        let grounds = trimmed(fields, "grounds")
        guard !grounds.isEmpty else {
            return .failure(FormProblem(reason: "write why the decision is wrong and what you ask for instead"))
        }
        let id = trimmed(fields, "formID").isEmpty ? UUID().uuidString.lowercased() : trimmed(fields, "formID")
        var form = Desk.ActionForm()
        form.challenge = Challenge(
            id: id, enquiryID: "",
            raisedBy: .init(staffID: staff.id, name: staff.name, role: staff.jobTitle ?? "MASH staff"),
            grounds: grounds, raisedAt: now)
        return .success(form)
    }

    /// The stage form on a challenge: the stages it may move to from where the desk last saw it.
    static func stageForm(current: ChallengeStage, discuss: Bool, stage: Bool) -> [String: Any] {
        let later = current.next.filter { $0 != .discussedAtMASH }
        return [
            "formID": UUID().uuidString.lowercased(), "current": current.words,
            "discuss": discuss && current.next.contains(.discussedAtMASH),
            "stage": stage && !later.isEmpty,
            "stages": later.map {
                ["value": $0.rawValue, "text": $0.words.prefix(1).uppercased() + $0.words.dropFirst()]
            },
        ]
    }

    static func stageAction(_ fields: Form, action: DeskAction, staff: StaffAccount, now: Date)
        -> Result<Desk.ActionForm, FormProblem>
    {
        let note = trimmed(fields, "note")
        guard !note.isEmpty else { return .failure(FormProblem(reason: "write what was discussed or decided")) }
        let stage: ChallengeStage
        if action == .discuss {
            stage = .discussedAtMASH
        } else {
            guard let chosen = ChallengeStage(rawValue: trimmed(fields, "stage")) else {
                return .failure(FormProblem(reason: "choose where the challenge goes next"))
            }
            stage = chosen
        }
        let resolution = trimmed(fields, "resolution")
        if stage == .resolved, resolution.isEmpty {
            return .failure(FormProblem(reason: "say how it was resolved: the decision stands, or what changes"))
        }
        let id = trimmed(fields, "formID").isEmpty ? UUID().uuidString.lowercased() : trimmed(fields, "formID")
        var form = Desk.ActionForm()
        form.stage = ChallengeStageRecord(
            id: id, challengeID: "", stage: stage, note: note, resolution: stage == .resolved ? resolution : nil,
            recordedBy: staff.id, at: now)
        return .success(form)
    }
}
