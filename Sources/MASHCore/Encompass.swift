import Foundation

/// An Operation Encompass notice: what one school's key adult needs before the next school day about its own
/// pupils in a police-attended domestic abuse incident, and nothing about anyone else's.
public struct EncompassNotice: Sendable, Equatable {
    public struct Pupil: Sendable, Equatable {
        public var forename: String
        public var surname: String
        public var dateOfBirth: LocalDate
        public var present: Bool

        public init(forename: String, surname: String, dateOfBirth: LocalDate, present: Bool) {
            self.forename = forename
            self.surname = surname
            self.dateOfBirth = dateOfBirth
            self.present = present
        }
    }

    public var id: String
    /// The school's URN, or nil for the local authority's officer (children on no roll).
    public var urn: String?
    public var policeReference: String
    public var occurredAt: Date
    public var place: String
    public var circumstances: String
    public var children: [Pupil]
    /// The start of the school's next school day.
    public var dueBy: Date

    public init(
        id: String, urn: String?, policeReference: String, occurredAt: Date, place: String, circumstances: String,
        children: [Pupil], dueBy: Date
    ) {
        self.id = id
        self.urn = urn
        self.policeReference = policeReference
        self.occurredAt = occurredAt
        self.place = place
        self.circumstances = circumstances
        self.children = children
        self.dueBy = dueBy
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.encompassNotice)
        id = try reader.identifier("id")
        urn = try reader.optionalString("urn")
        policeReference = try reader.string("policeReference")
        occurredAt = try reader.instant("occurredAt")
        place = try reader.string("place")
        circumstances = try reader.string("circumstances")
        children = try reader.objects("children") { child in
            Pupil(
                forename: try child.string("forename"), surname: try child.string("surname"),
                dateOfBirth: try child.date("dateOfBirth"), present: try child.optionalBool("present") ?? false)
        }
        dueBy = try reader.instant("dueBy")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.encompassNotice.rawValue, "id": id, "policeReference": policeReference,
            "occurredAt": Instant.format(occurredAt), "place": place, "circumstances": circumstances,
            "children": children.map {
                [
                    "forename": $0.forename, "surname": $0.surname, "dateOfBirth": $0.dateOfBirth.description,
                    "present": $0.present,
                ] as [String: Any]
            },
            "dueBy": Instant.format(dueBy),
        ]
        object["urn"] = urn
        return DocumentWriter.encode(object)
    }
}

/// A school's (or the LA officer's) receipt of a notice.
public struct EncompassAcknowledgement: Sendable, Equatable {
    public var noticeID: String
    public var acknowledgedAt: Date
    /// The staff id of the key adult (or officer) who acknowledged it, when a desk sent it.
    public var acknowledgedBy: String?

    public init(noticeID: String, acknowledgedAt: Date, acknowledgedBy: String? = nil) {
        self.noticeID = noticeID
        self.acknowledgedAt = acknowledgedAt
        self.acknowledgedBy = acknowledgedBy
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.encompassAcknowledgement)
        noticeID = try reader.identifier("noticeID")
        acknowledgedAt = try reader.instant("acknowledgedAt")
        acknowledgedBy = try reader.optionalIdentifier("acknowledgedBy")
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.encompassAcknowledgement.rawValue, "noticeID": noticeID,
            "acknowledgedAt": Instant.format(acknowledgedAt),
        ]
        if let acknowledgedBy { object["acknowledgedBy"] = acknowledgedBy }
        return DocumentWriter.encode(object)
    }
}

/// Who gets an Encompass notice for the children of one DAN: each school holding any of them, with only its
/// own; children of school age on no roll go to the LA officer; younger children on no roll and unborn
/// children need no notice.
public enum EncompassPlan {
    public struct Recipient: Sendable, Equatable {
        /// nil: the local authority's officer.
        public var urn: String?
        /// Indexes into the DAN's children.
        public var children: [Int]

        public init(urn: String?, children: [Int]) {
            self.urn = urn
            self.children = children
        }
    }

    /// Compulsory school age for the fallback: from 4 (Reception) to 16.
    public static let schoolAge = 4...16

    /// `schools[i]` is the URNs whose roll holds child `i`.
    public static func recipients(
        for dan: DomesticAbuseNotification, schools: [Int: [String]], today: LocalDate
    ) -> [Recipient] {
        var bySchool: [String: [Int]] = [:]
        var officer: [Int] = []
        for (index, child) in dan.children.enumerated() {
            guard let born = child.person.dateOfBirth, !child.isUnborn else { continue }
            let urns = Set(schools[index] ?? [])
            if urns.isEmpty {
                if schoolAge.contains(age(born: born, on: today)) { officer.append(index) }
            } else {
                for urn in urns { bySchool[urn, default: []].append(index) }
            }
        }
        var recipients = bySchool.keys.sorted().map { Recipient(urn: $0, children: bySchool[$0]!) }
        if !officer.isEmpty { recipients.append(Recipient(urn: nil, children: officer)) }
        return recipients
    }
}

/// A change to the CSC open-case register: a child's case opened (with the allocated social worker) or closed.
public struct OpenCaseUpdate: Sendable, Equatable {
    public var child: Person
    public var open: Bool
    public var socialWorker: String?
    public var team: String?
    /// The authority that placed a looked-after child in Medway (`la-<code>`): missing reports about the child
    /// reach it even when the police do not name it.
    public var placingAuthority: String?

    public init(child: Person, open: Bool, socialWorker: String?, team: String?, placingAuthority: String? = nil) {
        self.child = child
        self.open = open
        self.socialWorker = socialWorker
        self.team = team
        self.placingAuthority = placingAuthority
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.openCase)
        try self.init(reading: &reader)
        try reader.finish()
    }

    /// The members after `schema`: what a `mash.open-case/1` document and each case of a
    /// `mash.open-case-register/1` hold.
    init(reading reader: inout DocumentReader) throws {
        var childReader = try reader.object("child")
        child = try Person(reading: &childReader)
        try childReader.finish()
        guard child.forename != nil, child.surname != nil, child.dateOfBirth != nil else {
            throw childReader.error("forename, surname, dateOfBirth", "are required")
        }
        let status = try reader.string("status")
        guard status == "open" || status == "closed" else { throw reader.error("status", "must be open or closed") }
        open = status == "open"
        socialWorker = try reader.optionalString("socialWorker")
        team = try reader.optionalString("team")
        if open && socialWorker == nil { throw reader.error("socialWorker", "is required for an open case") }
        placingAuthority = try reader.optionalString("placingAuthority")
        if let placingAuthority, !AuthorityName.isValid(placingAuthority) {
            throw reader.error(
                "placingAuthority", "must be 'la-' and the authority's code in lower case (la-kent, la-886)")
        }
    }

    var members: [String: Any] {
        var object: [String: Any] = ["child": child.json, "status": open ? "open" : "closed"]
        object["socialWorker"] = socialWorker
        object["team"] = team
        object["placingAuthority"] = placingAuthority
        return object
    }

    public var json: [UInt8] {
        DocumentWriter.encode(members.merging(["schema": DocumentType.openCase.rawValue]) { $1 })
    }
}

/// A school's weekly roll as it travels from Orchestra: the file itself, CSV or CTF XML.
public struct SchoolRollFile: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case csv, ctf
    }

    public var urn: String
    public var format: Format
    /// CSV only: CTF files state their own.
    public var qualifier: SchoolRoll.Qualifier?
    public var content: String

    public init(urn: String, format: Format, qualifier: SchoolRoll.Qualifier?, content: String) {
        self.urn = urn
        self.format = format
        self.qualifier = qualifier
        self.content = content
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        try reader.schema(.schoolRoll)
        urn = try reader.string("urn")
        format = try reader.enum("format", Format.self)
        qualifier = try reader.optionalEnum("documentQualifier", SchoolRoll.Qualifier.self)
        content = try reader.string("content")
        if format == .csv && qualifier == nil {
            throw reader.error("documentQualifier", "is required for a CSV roll (full or partial)")
        }
        try reader.finish()
    }

    public var json: [UInt8] {
        var object: [String: Any] = [
            "schema": DocumentType.schoolRoll.rawValue, "urn": urn, "format": format.rawValue, "content": content,
        ]
        object["documentQualifier"] = qualifier?.rawValue
        return DocumentWriter.encode(object)
    }

    /// The roll the file states; a structural fault throws, naming the line or element.
    public func roll(source: String) throws -> SchoolRoll {
        switch format {
        case .csv:
            return try SchoolRoll(csv: content, urn: urn, qualifier: qualifier ?? .full, source: source)
        case .ctf:
            let roll = try SchoolRoll(ctf: Array(content.utf8), source: source)
            guard roll.urn == urn else {
                throw DocumentError(
                    source: source, field: "CTfile/Header/SourceSchool/URN",
                    problem: "'\(roll.urn)' is not the school the file was sent for (\(urn))")
            }
            return roll
        }
    }
}
