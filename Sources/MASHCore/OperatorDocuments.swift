import Foundation

/// `mash.dead-letter-replay/1`, operator → coordinator: an operator is about to re-send dead-lettered messages,
/// unchanged, to the queue they died in. The coordinator records one record-of-sharing entry per message; only
/// then does `mashctl` send them. A replay the coordinator reads after `expiresAt` is refused (`expired`), so
/// an entry never records a replay that `mashctl` has already given up on.
public struct DeadLetterReplay: Sendable, Equatable {
    public struct Message: Sendable, Equatable {
        public var messageID: String
        /// The `x-mash-enquiry` header of the dead letter, when it has one.
        public var enquiryID: String?

        public init(messageID: String, enquiryID: String?) {
            self.messageID = messageID
            self.enquiryID = enquiryID
        }
    }

    /// The staff member replaying.
    public var replayedBy: String
    /// The queue the messages go back to.
    public var queue: String
    public var reason: String
    public var at: Date
    public var expiresAt: Date
    public var messages: [Message]

    public init(replayedBy: String, queue: String, reason: String, at: Date, expiresAt: Date, messages: [Message]) {
        self.replayedBy = replayedBy
        self.queue = queue
        self.reason = reason
        self.at = at
        self.expiresAt = expiresAt
        self.messages = messages
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.deadLetterReplay)
        replayedBy = try reader.string("replayedBy")
        queue = try reader.identifier("queue")
        reason = try reader.string("reason")
        guard !reason.trimmingSpaces.isEmpty else { throw reader.error("reason", "must say why") }
        at = try reader.instant("at")
        expiresAt = try reader.instant("expiresAt")
        messages = try reader.objects("messages") { message in
            Message(
                messageID: try message.identifier("messageID"), enquiryID: try message.optionalIdentifier("enquiryID"))
        }
        guard !messages.isEmpty else { throw reader.error("messages", "must name at least one message") }
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.deadLetterReplay.rawValue, "replayedBy": replayedBy, "queue": queue,
            "reason": reason, "at": Instant.format(at), "expiresAt": Instant.format(expiresAt),
            "messages": messages.map { message -> [String: Any] in
                var object: [String: Any] = ["messageID": message.messageID]
                object["enquiryID"] = message.enquiryID
                return object
            },
        ])
    }
}

/// `mash.open-case-register/1`, operator → coordinator: a CSC export of open and closed cases (`mashctl cases
/// import`), applied whole in one transaction. Each case is what a `mash.open-case/1` holds.
public struct OpenCaseRegisterImport: Sendable, Equatable {
    /// The staff member importing.
    public var importedBy: String
    /// The file's name, for the operator's record (no content).
    public var source: String
    public var cases: [OpenCaseUpdate]

    public init(importedBy: String, source: String, cases: [OpenCaseUpdate]) {
        self.importedBy = importedBy
        self.source = source
        self.cases = cases
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.openCaseRegister)
        importedBy = try reader.string("importedBy")
        self.source = try reader.string("source")
        cases = try reader.objects("cases") { try OpenCaseUpdate(reading: &$0) }
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.openCaseRegister.rawValue, "importedBy": importedBy, "source": source,
            "cases": cases.map(\.members),
        ])
    }

    /// The CSV columns of `mashctl cases import`, matched without regard to case or spaces.
    public static let csvColumns = ["Forename", "Surname", "DOB", "SocialWorker", "Team", "Status"]
    /// Optional columns: the authority that placed a looked-after child (`la-<code>`).
    public static let optionalCSVColumns = ["PlacingAuthority"]

    /// Every row of a CSV export; a bad row refuses the whole file, naming its line (the header is line 1).
    public static func cases(csv bytes: [UInt8], source: String) throws -> [OpenCaseUpdate] {
        let table = try CSVTable(parsing: bytes, source: source)
        var index: [String: Int] = [:]
        for column in csvColumns {
            guard let position = table.columns.firstIndex(where: { CSVTable.sameColumn($0, column) }) else {
                throw DocumentError(source: source, field: "line 1", problem: "the column '\(column)' is missing")
            }
            index[column] = position
        }
        for column in optionalCSVColumns {
            if let position = table.columns.firstIndex(where: { CSVTable.sameColumn($0, column) }) {
                index[column] = position
            }
        }
        return try table.rows.map { row in
            func value(_ column: String) -> String { index[column].map { row.values[$0].trimmingSpaces } ?? "" }
            let status = value("Status").lowercased()
            guard status == "open" || status == "closed" else {
                throw DocumentError(source: source, field: "line \(row.line) Status", problem: "must be open or closed")
            }
            guard let born = LocalDate(value("DOB")) else {
                throw DocumentError(source: source, field: "line \(row.line) DOB", problem: "is not YYYY-MM-DD")
            }
            guard !value("Forename").isEmpty, !value("Surname").isEmpty else {
                throw DocumentError(
                    source: source, field: "line \(row.line)", problem: "Forename and Surname are required")
            }
            if status == "open" && value("SocialWorker").isEmpty {
                throw DocumentError(
                    source: source, field: "line \(row.line) SocialWorker", problem: "is required for an open case")
            }
            let authority = value("PlacingAuthority").lowercased()
            if !authority.isEmpty, !AuthorityName.isValid(authority) {
                throw DocumentError(
                    source: source, field: "line \(row.line) PlacingAuthority",
                    problem: "must be 'la-' and the authority's code (la-kent), or empty")
            }
            return OpenCaseUpdate(
                child: Person(forename: value("Forename"), surname: value("Surname"), dateOfBirth: born),
                open: status == "open", socialWorker: value("SocialWorker"),
                team: value("Team").isEmpty ? nil : value("Team"), placingAuthority: authority.isEmpty ? nil : authority
            )
        }
    }
}

/// What every operator request about one person carries: who asks, why (the data subject's request reference),
/// the person's keyed references (never a name or date of birth), when, and until when it may be carried out.
public struct SubjectRequest: Sendable, Equatable {
    public var requestedBy: String
    public var reason: String
    /// The person's references (`SubjectReference`): 32-digit hex strings, no personal data.
    public var references: [String]
    public var at: Date
    public var expiresAt: Date

    public init(requestedBy: String, reason: String, references: [String], at: Date, expiresAt: Date) {
        self.requestedBy = requestedBy
        self.reason = reason
        self.references = references
        self.at = at
        self.expiresAt = expiresAt
    }

    init(_ reader: inout DocumentReader) throws {
        requestedBy = try reader.identifier("requestedBy")
        reason = try reader.string("reason")
        guard !reason.trimmingSpaces.isEmpty else { throw reader.error("reason", "must say why") }
        references = try reader.strings("references")
        guard !references.isEmpty, references.allSatisfy({ $0.count == 32 && $0.allSatisfy(\.isHexDigit) }) else {
            throw reader.error("references", "must be one or more 32-digit hex references")
        }
        at = try reader.instant("at")
        expiresAt = try reader.instant("expiresAt")
    }

    func object(_ schema: DocumentType) -> [String: Any] {
        [
            "schema": schema.rawValue, "requestedBy": requestedBy, "reason": reason, "references": references,
            "at": Instant.format(at), "expiresAt": Instant.format(expiresAt),
        ]
    }
}

/// `mash.subject-access/1`, operator → coordinator: a search of the record of sharing for the disclosures about
/// one person, recorded before `mashctl subject disclosures` shows anything.
public struct SubjectAccess: Sendable, Equatable {
    public var request: SubjectRequest

    public init(_ request: SubjectRequest) { self.request = request }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.subjectAccess)
        request = try SubjectRequest(&reader)
        try reader.finish()
    }

    public var json: [UInt8] { DocumentWriter.encode(request.object(.subjectAccess)) }
}

/// `mash.subject-restriction/1`, operator → coordinator: processing of one person's data is restricted (UK GDPR
/// Art. 18) or the restriction lifted. While it stands, an enquiry about them is refused (`restricted`) before
/// anything is sent.
public struct SubjectRestriction: Sendable, Equatable {
    public enum Action: String, Sendable, CaseIterable {
        case restrict, lift
    }

    public var action: Action
    public var request: SubjectRequest
    /// The person, so recipients told of the restriction can also hold back research answers about them.
    public var person: Person?

    public init(_ action: Action, _ request: SubjectRequest, person: Person? = nil) {
        self.action = action
        self.request = request
        self.person = person
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.subjectRestriction)
        let text = try reader.string("action")
        guard let action = Action(rawValue: text) else { throw reader.error("action", "must be restrict or lift") }
        self.action = action
        request = try SubjectRequest(&reader)
        person = try reader.optionalObject("person") == nil ? nil : try SubjectCorrection.person(&reader)
        try reader.finish()
    }

    public var json: [UInt8] {
        var object = request.object(.subjectRestriction)
        object["action"] = action.rawValue
        object["person"] = person?.json
        return DocumentWriter.encode(object)
    }
}

/// `mash.content-view/1`, staff member → coordinator: someone is about to see content (an enquiry's decision
/// package, a dead letter). The coordinator records who, when, what and why before `mashctl` shows anything; if
/// it refuses or cannot record, nothing is shown.
public struct ContentView: Sendable, Equatable {
    public enum Subject: String, Sendable, CaseIterable {
        case enquiry
        case deadLetter = "dead-letter"
    }

    public var requestedBy: String
    public var subject: Subject
    /// An enquiry id, or `<queue>#<position>` and the message id of a dead letter: never personal data.
    public var reference: String
    public var reason: String
    public var at: Date
    public var expiresAt: Date

    public init(
        requestedBy: String, subject: Subject, reference: String, reason: String, at: Date, expiresAt: Date
    ) {
        self.requestedBy = requestedBy
        self.subject = subject
        self.reference = reference
        self.reason = reason
        self.at = at
        self.expiresAt = expiresAt
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.contentView)
        requestedBy = try reader.identifier("requestedBy")
        let subjectText = try reader.string("subject")
        guard let subject = Subject(rawValue: subjectText) else {
            throw reader.error("subject", "'\(subjectText)' is not enquiry or dead-letter")
        }
        self.subject = subject
        reference = try reader.string("reference")
        guard !reference.isEmpty, reference.count <= 200 else {
            throw reader.error("reference", "must name what is viewed (1 to 200 characters)")
        }
        reason = try reader.string("reason")
        guard !reason.trimmingSpaces.isEmpty else { throw reader.error("reason", "must say why") }
        at = try reader.instant("at")
        expiresAt = try reader.instant("expiresAt")
        try reader.finish()
    }

    public var json: [UInt8] {
        DocumentWriter.encode([
            "schema": DocumentType.contentView.rawValue, "requestedBy": requestedBy, "subject": subject.rawValue,
            "reference": reference, "reason": reason, "at": Instant.format(at), "expiresAt": Instant.format(expiresAt),
        ])
    }
}
