import Foundation

/// What a no-name consultation recommends the professional does next.
public enum ConsultationRecommendation: String, Sendable, CaseIterable {
    /// The professional's own service can meet the need, with the advice given.
    case adviceOnly = "advice-only"
    /// Talk to the family about Early Help.
    case earlyHelp = "early-help"
    /// Make a contact to the SPA (the consultation can be copied into it by its reference).
    case makeContact = "make-a-contact"
    /// The child is at immediate risk: call the police on 999, then make a contact.
    case callPolice = "call-police"
}

/// `mash.consultation/1`: a consultation of the No-Name Consultation Service (DESIGN.md flow 7), recorded by the
/// SPA's social worker. It identifies no child or family: the readers refuse text that looks identifying
/// (`IdentifyingDetails`). The hub sends it to the professional's portal as its summary.
public struct Consultation: Sendable, Equatable {
    /// The professional who asked, by their portal account (so the summary reaches them) and who they are.
    public struct Professional: Sendable, Equatable {
        public var staffID: String
        public var organisation: String
        public var role: String
        /// The party of the professional's portal; needed only where the hub has more than one.
        public var portal: String?

        public init(staffID: String, organisation: String, role: String, portal: String? = nil) {
            self.staffID = staffID
            self.organisation = organisation
            self.role = role
            self.portal = portal
        }

        var json: [String: Any] {
            var object: [String: Any] = ["staffID": staffID, "organisation": organisation, "role": role]
            object["portal"] = portal
            return object
        }
    }

    public var id: String
    /// The reference the professional quotes (`NNC-…`), also to copy the consultation into a contact.
    public var reference: String
    public var heldAt: Date
    public var professional: Professional
    /// The concern as described, without identifying the child or the family.
    public var concern: String
    public var advice: String
    public var recommendation: ConsultationRecommendation
    /// The social worker who gave the advice (their desk staff id).
    public var socialWorker: String

    public init(
        id: String, reference: String, heldAt: Date, professional: Professional, concern: String, advice: String,
        recommendation: ConsultationRecommendation, socialWorker: String
    ) {
        self.id = id
        self.reference = reference
        self.heldAt = heldAt
        self.professional = professional
        self.concern = concern
        self.advice = advice
        self.recommendation = recommendation
        self.socialWorker = socialWorker
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.consultation)
        id = try reader.identifier("id")
        reference = try reader.identifier("reference")
        heldAt = try reader.pastInstant("heldAt")
        var who = try reader.object("professional")
        professional = Professional(
            staffID: try who.identifier("staffID"), organisation: try who.string("organisation"),
            role: try who.string("role"), portal: try who.optionalIdentifier("portal"))
        try who.finish()
        concern = try reader.text("concern")
        advice = try reader.text("advice")
        for (key, text) in [("concern", concern), ("advice", advice)] {
            if let found = IdentifyingDetails.find(in: text).first {
                throw reader.error(key, "identifies the child or family (\(found)); a no-name consultation must not")
            }
        }
        recommendation = try reader.enum("recommendation", ConsultationRecommendation.self)
        socialWorker = try reader.identifier("socialWorker")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.consultation.rawValue, "id": id, "reference": reference,
            "heldAt": Instant.format(heldAt),
            "professional": professional.json,
            "concern": concern, "advice": advice, "recommendation": recommendation.rawValue,
            "socialWorker": socialWorker,
        ])
    }
}

/// `mash.consultation-correction/1`: the professional asks for a consultation's summary to be corrected.
public struct ConsultationCorrection: Sendable, Equatable {
    public var id: String
    public var consultationID: String
    public var reference: String
    public var requestedBy: String
    /// What is wrong and what it should say.
    public var text: String
    public var requestedAt: Date

    public init(
        id: String, consultationID: String, reference: String, requestedBy: String, text: String, requestedAt: Date
    ) {
        self.id = id
        self.consultationID = consultationID
        self.reference = reference
        self.requestedBy = requestedBy
        self.text = text
        self.requestedAt = requestedAt
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.consultationCorrection)
        id = try reader.identifier("id")
        consultationID = try reader.identifier("consultationID")
        reference = try reader.identifier("reference")
        requestedBy = try reader.identifier("requestedBy")
        text = try reader.text("text")
        if let found = IdentifyingDetails.find(in: text).first {
            throw reader.error("text", "identifies the child or family (\(found)); a no-name consultation must not")
        }
        requestedAt = try reader.pastInstant("requestedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.consultationCorrection.rawValue, "id": id, "consultationID": consultationID,
            "reference": reference, "requestedBy": requestedBy, "text": text,
            "requestedAt": Instant.format(requestedAt),
        ])
    }
}

/// `mash.delivery-receipt/1`: a portal's word that the referrer's feedback (a contact's outcome or a
/// consultation's summary) is stored there and shown to them. It stops the hub's feedback clock.
public struct DeliveryReceipt: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case contactOutcome = "contact-outcome"
        case consultation
    }

    /// The hub's message id of what was delivered.
    public var messageID: String
    public var kind: Kind
    /// The contact's or the consultation's id.
    public var about: String
    public var receivedAt: Date

    public init(messageID: String, kind: Kind, about: String, receivedAt: Date) {
        self.messageID = messageID
        self.kind = kind
        self.about = about
        self.receivedAt = receivedAt
    }

    public init(json data: [UInt8], source: String, now: Date = Date()) throws {
        var reader = try DocumentReader(json: data, source: source, now: now)
        try reader.schema(.deliveryReceipt)
        messageID = try reader.identifier("messageID")
        kind = try reader.enum("kind", Kind.self)
        about = try reader.identifier("about")
        receivedAt = try reader.pastInstant("receivedAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.deliveryReceipt.rawValue, "messageID": messageID, "kind": kind.rawValue,
            "about": about, "receivedAt": Instant.format(receivedAt),
        ])
    }
}

/// What in free text looks like it identifies a child or a family: an NHS number, a UPN, a full postcode, or a
/// name with a date of birth. Used where the text must be anonymous (a no-name consultation); it errs on the
/// side of refusing, and says what it found so the professional can rephrase.
public enum IdentifyingDetails {
    /// Each kind of identifying detail found, in words (never the detail itself).
    public static func find(in text: String) -> [String] {
        var found: [String] = []
        if hasNHSNumber(text) { found.append("an NHS number") }
        if hasUPN(text) { found.append("a unique pupil number") }
        if text.range(of: postcode, options: [.regularExpression, .caseInsensitive]) != nil {
            found.append("a full postcode")
        }
        if hasDate(text), hasName(text) { found.append("a name with a date of birth") }
        return found
    }

    static let postcode = #"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2}\b"#

    /// Ten digits as one run or grouped 3-3-4 that pass the NHS number's check digit.
    static func hasNHSNumber(_ text: String) -> Bool {
        let pattern = #"(?<![0-9])([0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4})(?![0-9])"#
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
        let range = NSRange(text.startIndex..., in: text)
        return expression.matches(in: text, range: range).contains { match in
            Range(match.range(at: 1), in: text).flatMap { Identifier.nhsNumber(String(text[$0])) } != nil
        }
    }

    /// A letter and twelve characters shaped as a UPN, whether or not its check letter is right (a mistyped UPN
    /// still points to one pupil).
    static func hasUPN(_ text: String) -> Bool {
        text.range(of: #"\b[A-Z][0-9]{11}[0-9A-Z]\b"#, options: [.regularExpression, .caseInsensitive]) != nil
    }

    static func hasDate(_ text: String) -> Bool {
        let months = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
        let patterns = [
            #"\b[0-9]{1,2}[/.-][0-9]{1,2}[/.-]([0-9]{2}|[0-9]{4})\b"#, #"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b"#,
            #"\b[0-9]{1,2}(st|nd|rd|th)? (\#(months))[a-z]* [0-9]{4}\b"#, #"\b(dob|d\.o\.b\.?|date of birth|born)\b"#,
        ]
        return patterns.contains { text.range(of: $0, options: [.regularExpression, .caseInsensitive]) != nil }
    }

    /// Words that are capitalised in a concern without naming anyone.
    static let commonCapitalised: Set<String> = [
        "i", "year", "reception", "nursery", "school", "primary", "secondary", "academy", "college", "mum", "dad",
        "mother", "father", "nan", "grandma", "grandad", "stepdad", "stepmum", "the", "a", "an", "he", "she", "they",
        "his", "her", "their", "we", "our", "mash", "spa", "gp", "police", "camhs", "send", "sen", "senco", "dsl",
        "early", "help", "social", "care", "nhs", "upn", "monday", "tuesday", "wednesday", "thursday", "friday",
        "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "christmas", "easter", "half", "term", "medway", "kent",
        "dob", "born", "today", "yesterday", "this", "last", "on", "in", "at", "when", "after", "before", "since",
    ]

    /// A capitalised word that does not start a sentence and is not a common one: the likely shape of a name.
    static func hasName(_ text: String) -> Bool {
        var sentenceStart = true
        for word in text.split(whereSeparator: { $0.isWhitespace }) {
            let letters = word.trimmingCharacters(in: .letters.inverted)
            defer { sentenceStart = word.last.map { ".!?:\n".contains($0) } ?? false }
            guard let first = letters.first, first.isUppercase, letters.count > 1 else { continue }
            if sentenceStart || commonCapitalised.contains(letters.lowercased()) { continue }
            if letters.allSatisfy(\.isUppercase) { continue }
            return true
        }
        return false
    }
}

extension DocumentReader {
    /// A required string with something in it besides white space.
    public mutating func text(_ key: String) throws -> String {
        let text = try string(key)
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw error(key, "must not be empty")
        }
        return text
    }
}
