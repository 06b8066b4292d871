import Foundation
import MASHCore

/// What the inbox shows of an item, taken from its document when it arrives (sealed at rest like the document).
struct ItemSummary: Sendable, Equatable, Codable {
    var title: String
    /// The referrer's, the police's or the hub's reference: what staff quote on the phone.
    var reference: String
    /// Whom it is about, for the people allowed to read it.
    var about: String?
    var rag: String?
    var dueAt: Date?
    /// The enquiry a decision is for, the notice an acknowledgement is for.
    var enquiryID: String?
    var noticeID: String?
    /// A DAN on the triage list: its id and the date of the meeting it goes to (YYYY-MM-DD).
    var danID: String?
    var triageDate: String?
    /// A missing notice: its episode, and which document it carries (`missing`, `found`, `interview`).
    var episodeID: String?
    var report: String?
    /// The front door: the contact or consultation an item is about, and on a portal the professional whose it
    /// is (nobody else on the portal sees it).
    var contactID: String?
    var consultationID: String?
    var owner: String?
    /// A meeting list's sitting (`mash-2026-12-07T11:30`).
    var meetingID: String?
    var challengeID: String?
    /// A challenge's stage, on the hub's notice of it (`ChallengeStage`).
    var stage: String?
}

/// A document laid out for a person: labelled fields, groups and lists in a sensible order, UK dates and
/// times, the wire's codes in words. The page template renders this tree (recursively), never JSON.
enum DeskDocument {
    static let titles: [DocumentType: String] = [
        .decisionPackage: "Decision package", .outcome: "Outcome of an enquiry", .enquiryRefusal: "Enquiry refused",
        .requestNotSent: "Agency not asked", .breachNotice: "Personal data breach notice",
        .slaAlert: "Deadline alert", .danReferral: "Domestic abuse referral (high risk)",
        .encompassNotice: "Operation Encompass notice", .missingEducationAlert: "Child missing education",
        .significantContact: "Significant contact", .domesticAbuseNotification: "Domestic abuse notification",
        .rollReport: "School roll report", .rollRejection: "School roll file rejected",
        .danTriage: "Domestic abuse notification for triage", .earlyHelpNotice: "Early Help (from the DAN triage)",
        .missingNotice: "Missing child", .contact: "Contact from a professional",
        .contactOutcome: "Outcome of your contact", .consultation: "No-name consultation",
        .consultationCorrection: "Correction asked for a consultation",
        .meetingAgenda: "Meeting list", .challenge: "Challenge to a decision", .challengeStage: "Challenge",
    ]

    static let missingTitles = [
        "missing": "Reported missing", "found": "Found: return interview due", "interview": "Return interview",
    ]

    /// The summary of a document of `type` (its JSON object already parsed).
    static func summary(type: DocumentType, _ object: [String: Any]) -> ItemSummary {
        let enquiry = object["enquiry"] as? [String: Any]
        let notification = object["notification"] as? [String: Any]
        let subject =
            (enquiry?["subject"] as? [String: Any]) ?? (type == .contact ? object["child"] as? [String: Any] : nil)
        var reference =
            [
                object["reference"], enquiry?["reference"], object["policeReference"], notification?["policeReference"],
                object["enquiryID"], object["danID"], object["id"],
            ].lazy.compactMap { $0 as? String }.first ?? "—"
        let due = ["decisionDue", "dueBy"].lazy.compactMap { object[$0] as? String }.first.flatMap(Instant.parse)
        var about: String?
        if let subject, let forename = subject["forename"] as? String, let surname = subject["surname"] as? String {
            about = "\(forename) \(surname)"
        } else if let children = (object["children"] ?? notification?["children"]) as? [[String: Any]] {
            let names = children.compactMap { child -> String? in
                guard let forename = child["forename"] as? String, let surname = child["surname"] as? String else {
                    return nil
                }
                return "\(forename) \(surname)"
            }
            if !names.isEmpty { about = names.joined(separator: ", ") }
        }
        var title = titles[type] ?? type.rawValue
        if type == .slaAlert, let event = object["event"] as? String {
            title =
                "Deadline \(event == "breach" ? "missed" : event == "warning" ? "warning" : event)"
                + ((object["clock"] as? String).map { " (\(clockNames[$0] ?? $0))" } ?? "")
        }
        if type == .outcome, let outcome = (object["outcome"] as? String).flatMap(DecisionOutcome.init) {
            title = "Outcome: \(outcomeName(outcome))"
        }
        var dueAt = due
        if type == .missingNotice {
            let report = object["report"] as? String ?? ""
            let document = object["document"] as? [String: Any] ?? [:]
            title = missingTitles[report] ?? title
            if object["purpose"] as? String == "high-risk" { title = "High-risk missing child" }
            if let child = document["child"] as? [String: Any], let forename = child["forename"] as? String,
                let surname = child["surname"] as? String
            {
                about = "\(forename) \(surname)"
            }
            reference = (document["policeReference"] as? String) ?? (object["episodeID"] as? String) ?? reference
            dueAt = report == "found" ? (object["interviewDue"] as? String).flatMap(Instant.parse) : nil
        }
        var summary = ItemSummary(
            title: title, reference: reference, about: about,
            rag: ((object["rag"] ?? enquiry?["rag"]) as? String), dueAt: dueAt,
            enquiryID: (object["enquiryID"] ?? enquiry?["id"]) as? String,
            noticeID: type == .encompassNotice ? object["id"] as? String : nil,
            danID: type == .danTriage ? object["danID"] as? String : nil,
            triageDate: type == .danTriage ? object["triageDate"] as? String : nil,
            episodeID: type == .missingNotice || (type == .slaAlert && object["clock"] as? String == "return-interview")
                ? (object["episodeID"] ?? object["enquiryID"]) as? String : nil,
            report: type == .missingNotice ? object["report"] as? String : nil)
        switch type {
        case .contact: summary.contactID = object["id"] as? String
        case .contactOutcome:
            summary.contactID = object["contactID"] as? String
            summary.owner = object["referrer"] as? String
            if let outcome = object["outcome"] as? String { summary.title = "Outcome: \(contactOutcomeName(outcome))" }
        case .consultation:
            summary.consultationID = object["id"] as? String
            summary.owner = (object["professional"] as? [String: Any])?["staffID"] as? String
        case .consultationCorrection: summary.consultationID = object["consultationID"] as? String
        case .meetingAgenda:
            summary.meetingID = object["meetingID"] as? String
            summary.reference = summary.meetingID ?? summary.reference
            summary.dueAt = (object["at"] as? String).flatMap(Instant.parse)
            if let kind = (object["kind"] as? String).flatMap(MeetingSchedule.Kind.init) {
                summary.title = "Meeting list: \(meetingName(kind))"
            }
        case .challenge:
            summary.challengeID = object["id"] as? String
            summary.reference = (object["enquiryID"] as? String) ?? summary.reference
        case .challengeStage:
            summary.challengeID = object["challengeID"] as? String
            if let stage = (object["stage"] as? String).flatMap(ChallengeStage.init) {
                summary.title = "Challenge \(stage.words)"
                summary.stage = stage.rawValue
            }
        default: break
        }
        return summary
    }

    /// A contact's outcome in words: a screening decision's or a MASH decision's.
    static func contactOutcomeName(_ code: String) -> String {
        if let decision = DecisionOutcome(rawValue: code) { return outcomeName(decision) }
        switch ScreeningDecision(rawValue: code) {
        case .noFurtherAction: return "No further action"
        case .earlyHelp: return "Early Help"
        case .assessment: return "Social work assessment"
        case .mashEnquiry: return "MASH enquiry"
        case nil: return words(code)
        }
    }

    static func meetingName(_ kind: MeetingSchedule.Kind) -> String {
        switch kind {
        case .spaHuddle: "SPA huddle"
        case .mashHuddle: "MASH huddle"
        case .mash: "MASH meeting"
        case .midwifery: "Midwifery Safeguarding Meeting"
        }
    }

    static func triageName(_ decision: TriageDecision) -> String {
        switch decision {
        case .noFurtherAction: "No further action"
        case .earlyHelp: "Early Help"
        case .schoolHealthInformed: "School and health informed"
        case .openEnquiry: "Open a MASH enquiry"
        }
    }

    static let clockNames = [
        "partners": "agencies' answers", "decision": "decision", "encompass": "Encompass acknowledgement",
        "return-interview": "return interview within 72 hours", "placing-authority": "placing authority",
    ]

    static func outcomeName(_ outcome: DecisionOutcome) -> String {
        switch outcome {
        case .noFurtherAction: "No further action"
        case .informationAndAdvice: "Information and advice"
        case .earlyHelp: "Early Help"
        case .singleAgency: "Single-agency support"
        case .childInNeedAssessment: "Child in need assessment (s17)"
        case .strategyDiscussion: "Strategy discussion (s47)"
        }
    }

    // MARK: the tree a page renders

    /// Members shown first, in this order; the rest follow alphabetically. `schema` is never shown.
    static let firstKeys = [
        "reference", "policeReference", "rag", "outcome", "rationale", "decidedBy", "decidedAt", "late", "event",
        "clock", "dueBy", "decisionDue", "partnersDue", "triageDate", "level", "assessedLevel", "flags", "subject",
        "forename", "surname", "dateOfBirth", "agency", "findings", "reason",
    ]
    static let labels = [
        "dateOfBirth": "Date of birth", "nhsNumber": "NHS number", "upn": "UPN", "rag": "RAG rating",
        "enquiryID": "Enquiry id", "requestID": "Request id", "danID": "DAN id", "id": "Id", "pncID": "PNC id",
        "noticeID": "Notice id", "urn": "School URN", "dueBy": "Due by", "article6": "UK GDPR Article 6",
        "article9": "UK GDPR Article 9", "article10": "UK GDPR Article 10", "notAnswered": "Not answered by",
        "triageDate": "Triage meeting", "level": "Risk level", "assessedLevel": "Risk level assessed by the tool",
        "flags": "Pre-triage flags",
    ]

    /// The fields of an object, as the template takes them (dictionaries of `label` and one of `text`, `group`
    /// or `list`; the others false, so that a nested lookup never climbs to an outer field).
    static func fields(_ object: [String: Any]) -> [[String: Any]] {
        let keys = object.keys.filter { $0 != "schema" }.sorted { a, b in
            let (i, j) = (firstKeys.firstIndex(of: a) ?? Int.max, firstKeys.firstIndex(of: b) ?? Int.max)
            return i != j ? i < j : a < b
        }
        return keys.compactMap { key in field(label(key), key: key, object[key]!) }
    }

    private static func field(_ label: String, key: String, _ value: Any) -> [String: Any]? {
        var field: [String: Any] = ["label": label, "text": false, "group": false, "list": false]
        switch value {
        case let object as [String: Any]:
            field["group"] = ["fields": fields(object)]
        case let array as [Any]:
            if array.isEmpty {
                field["text"] = "None"
            } else if array.allSatisfy({ $0 is [String: Any] }) {
                field["list"] = array.enumerated().map { index, element in
                    let object = element as! [String: Any]
                    let heading =
                        ["agency", "label", "forename", "role"].lazy.compactMap { object[$0] as? String }.first
                        .map { "\(index + 1). \(words($0))" } ?? "\(index + 1)."
                    return ["heading": heading, "fields": fields(object)]
                }
            } else {
                field["text"] = array.map { text(key: key, $0) }.joined(separator: ", ")
            }
        case is NSNull:
            return nil
        default:
            field["text"] = text(key: key, value)
        }
        return field
    }

    static func label(_ key: String) -> String {
        if let label = labels[key] { return label }
        var words = ""
        for character in key {
            if character.isUppercase, !words.isEmpty { words.append(" ") }
            words.append(words.isEmpty ? Character(character.uppercased()) : Character(character.lowercased()))
        }
        return words
    }

    private static func text(key: String, _ value: Any) -> String {
        if let number = value as? NSNumber {
            // JSONSerialization gives true and false as NSNumbers of type char; JSON numbers are never that.
            if String(cString: number.objCType) == "c" { return number.boolValue ? "Yes" : "No" }
            return number.stringValue
        }
        guard let string = value as? String else { return "\(value)" }
        if let outcome = DecisionOutcome(rawValue: string), key == "outcome" { return outcomeName(outcome) }
        if key == "rag" { return string.capitalized }
        if string.count >= 20, let instant = Instant.parse(string) { return UKTime.dateTime(instant) }
        if string.count == 10, let date = LocalDate(string) { return UKTime.date(date) }
        return string.contains("-") && string.allSatisfy({ $0.isLowercase || $0 == "-" }) ? words(string) : string
    }

    /// `no-further-action` → `No further action`.
    static func words(_ code: String) -> String {
        let spaced = code.replacingOccurrences(of: "-", with: " ")
        return spaced.prefix(1).uppercased() + spaced.dropFirst()
    }
}

/// Dates and times as people in England read them: Europe/London, 24-hour clock, day before month.
enum UKTime {
    private static let zone = TimeZone(identifier: "Europe/London")!

    private static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = zone
        formatter.dateFormat = format
        return formatter
    }

    /// The day it is in England at `instant`.
    static func localDate(_ instant: Date) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: instant)
        return LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }

    static func dateTime(_ date: Date) -> String { formatter("EEE d MMM yyyy, HH:mm").string(from: date) }

    /// The value of an HTML `datetime-local` input (UK time, to the minute), and back.
    static func inputValue(_ date: Date) -> String { formatter("yyyy-MM-dd'T'HH:mm").string(from: date) }

    static func fromInput(_ text: String) -> Date? {
        formatter("yyyy-MM-dd'T'HH:mm").date(from: text) ?? formatter("yyyy-MM-dd'T'HH:mm:ss").date(from: text)
    }

    static func date(_ date: LocalDate) -> String {
        var components = DateComponents()
        (components.year, components.month, components.day) = (date.year, date.month, date.day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let instant = calendar.date(from: components) else { return date.description }
        return formatter("d MMM yyyy").string(from: instant)
    }

    /// "3 h 20 min left", "overdue by 1 h 5 min".
    static func remaining(until due: Date, now: Date) -> String {
        let seconds = Int(due.timeIntervalSince(now))
        let minutes = abs(seconds) / 60
        let text =
            minutes >= 48 * 60
            ? "\(minutes / 1440) days" : minutes >= 60 ? "\(minutes / 60) h \(minutes % 60) min" : "\(minutes) min"
        return seconds >= 0 ? "\(text) left" : "overdue by \(text)"
    }
}
