import Foundation

/// What a correction asks every recipient of a person's data to do with its copies (UK GDPR Arts. 16–19).
public enum CorrectionAction: String, Sendable, CaseIterable {
    /// Amend the copies: `corrected` holds the accurate fields.
    case rectify
    /// Delete the copies, and answer no later research about the person from what was shared.
    case erase
    /// Keep the copies but suppress them from view and from research answers until lifted.
    case restrict
    /// A restriction ends: the copies may be shown and used again.
    case lift
    /// An opinion in the copies was found incorrect: mark it so (`note` says which and why); it is not deleted.
    case markOpinionIncorrect = "mark-opinion-incorrect"

    /// What the copies are told, in words for the ledger and the pages.
    public var describing: String {
        switch self {
        case .rectify: "rectification (UK GDPR Art. 16)"
        case .erase: "erasure (UK GDPR Art. 17)"
        case .restrict: "restriction (UK GDPR Art. 18)"
        case .lift: "restriction lifted (UK GDPR Art. 18)"
        case .markOpinionIncorrect: "opinion marked incorrect (UK GDPR Art. 16)"
        }
    }
}

/// `mash.subject-correction/1`, operator → coordinator: rectify, erase or mark an opinion incorrect in what the
/// hub shared about one person. The coordinator sends a `mash.correction/1` to every recipient the record of
/// sharing lists for them (or, with `enquiryID`, for that case only) and tracks each to a receipt.
public struct SubjectCorrection: Sendable, Equatable {
    public var action: CorrectionAction
    public var request: SubjectRequest
    /// The person as the case system holds them, so recipients can find them in their copies.
    public var person: Person
    /// The accurate fields (rectify only).
    public var corrected: Person?
    /// Which opinion is incorrect and why (mark-opinion-incorrect only).
    public var note: String?
    public var enquiryID: String?

    public init(
        _ action: CorrectionAction, _ request: SubjectRequest, person: Person, corrected: Person? = nil,
        note: String? = nil, enquiryID: String? = nil
    ) {
        self.action = action
        self.request = request
        self.person = person
        self.corrected = corrected
        self.note = note
        self.enquiryID = enquiryID
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.subjectCorrection)
        action = try reader.enum("action", CorrectionAction.self)
        guard [.rectify, .erase, .markOpinionIncorrect].contains(action) else {
            throw reader.error(
                "action",
                "must be rectify, erase or mark-opinion-incorrect (restrictions are mash.subject-restriction/1)")
        }
        request = try SubjectRequest(&reader)
        person = try Self.person(&reader)
        corrected = try Self.corrected(&reader, action: action)
        note = try Self.note(&reader, action: action)
        enquiryID = try reader.optionalIdentifier("enquiryID")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object = request.object(.subjectCorrection)
        object["action"] = action.rawValue
        object["person"] = person.json
        object["corrected"] = corrected?.json
        object["note"] = note
        object["enquiryID"] = enquiryID
        return DocumentWriter.encode(object)
    }

    /// The person named by name and date of birth (the NHS number optional): what every recipient can find.
    static func person(_ reader: inout DocumentReader) throws -> Person {
        var personReader = try reader.object("person")
        let person = try Person(reading: &personReader)
        try personReader.finish()
        for (field, value) in [("forename", person.forename), ("surname", person.surname)]
        where value?.isEmpty ?? true {
            throw personReader.error(field, "is required")
        }
        guard person.dateOfBirth != nil else { throw personReader.error("dateOfBirth", "is required") }
        return person
    }

    static func corrected(_ reader: inout DocumentReader, action: CorrectionAction) throws -> Person? {
        guard var fields = try reader.optionalObject("corrected") else {
            guard action != .rectify else { throw reader.error("corrected", "is required to rectify") }
            return nil
        }
        guard action == .rectify else { throw reader.error("corrected", "is only for rectify") }
        let corrected = try Person(reading: &fields)
        try fields.finish()
        guard !corrected.json.isEmpty else { throw reader.error("corrected", "must give at least one field") }
        return corrected
    }

    static func note(_ reader: inout DocumentReader, action: CorrectionAction) throws -> String? {
        let note = try reader.optionalString("note")
        if action == .markOpinionIncorrect, note?.trimmingSpaces.isEmpty ?? true {
            throw reader.error("note", "must say which opinion is incorrect and why")
        }
        return note
    }
}

/// `mash.correction/1`, coordinator → every recipient of a person's data: what to do with the copies of the
/// disclosures listed (`messages`, the message ids they arrived in; `cases`, the enquiries, DANs or rolls they
/// belong to). Answered with a `mash.correction-receipt/1` naming `copyID`; one not answered by
/// `chaseAfter` is sent again (same `copyID`), so applying one twice must be harmless.
public struct Correction: Sendable, Equatable {
    public var correctionID: String
    /// This recipient's copy of the correction: what its receipt names.
    public var copyID: String
    public var action: CorrectionAction
    public var reason: String
    public var requestedAt: Date
    /// One month from the request (UK GDPR Art. 12(3)).
    public var respondBy: Date
    /// The person, when the correction names them (not for a restriction, which names the disclosures only).
    public var person: Person?
    public var corrected: Person?
    public var note: String?
    public var cases: [String]
    public var messages: [String]

    public init(
        correctionID: String, copyID: String, action: CorrectionAction, reason: String, requestedAt: Date,
        respondBy: Date, person: Person?, corrected: Person?, note: String?, cases: [String], messages: [String]
    ) {
        self.correctionID = correctionID
        self.copyID = copyID
        self.action = action
        self.reason = reason
        self.requestedAt = requestedAt
        self.respondBy = respondBy
        self.person = person
        self.corrected = corrected
        self.note = note
        self.cases = cases
        self.messages = messages
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.correction)
        correctionID = try reader.identifier("correctionID")
        copyID = try reader.identifier("copyID")
        action = try reader.enum("action", CorrectionAction.self)
        reason = try reader.string("reason")
        requestedAt = try reader.instant("requestedAt")
        respondBy = try reader.instant("respondBy")
        person = try reader.optionalObject("person") == nil ? nil : try SubjectCorrection.person(&reader)
        corrected = try SubjectCorrection.corrected(&reader, action: action)
        note = try SubjectCorrection.note(&reader, action: action)
        cases = try reader.strings("cases")
        messages = try reader.strings("messages")
        guard !messages.isEmpty else { throw reader.error("messages", "must name at least one message") }
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.correction.rawValue, "correctionID": correctionID, "copyID": copyID,
            "action": action.rawValue, "reason": reason, "requestedAt": Instant.format(requestedAt),
            "respondBy": Instant.format(respondBy), "cases": cases, "messages": messages,
        ]
        object["person"] = person?.json
        object["corrected"] = corrected?.json
        object["note"] = note
        return DocumentWriter.encode(object)
    }
}

/// `mash.correction-receipt/1`, recipient → coordinator: a correction was applied to every copy held.
public struct CorrectionReceipt: Sendable, Equatable {
    public enum Result: String, Sendable, CaseIterable {
        /// Applied to `copies` copies.
        case applied
        /// None of the listed disclosures is held any more (purged under the recipient's own schedule).
        case notHeld = "not-held"
    }

    public var correctionID: String
    public var copyID: String
    public var result: Result
    public var copies: Int
    public var at: Date

    public init(correctionID: String, copyID: String, result: Result, copies: Int, at: Date) {
        self.correctionID = correctionID
        self.copyID = copyID
        self.result = result
        self.copies = copies
        self.at = at
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.correctionReceipt)
        correctionID = try reader.identifier("correctionID")
        copyID = try reader.identifier("copyID")
        result = try reader.enum("result", Result.self)
        guard let copies = try reader.optionalInt("copies"), copies >= 0 else {
            throw reader.error("copies", "is required: how many copies were changed (0 or more)")
        }
        self.copies = copies
        at = try reader.instant("at")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.correctionReceipt.rawValue, "correctionID": correctionID, "copyID": copyID,
            "result": result.rawValue, "copies": copies, "at": Instant.format(at),
        ])
    }
}
