import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A school's roll as one weekly feed states it (CSV or Common Transfer File XML). Messy values are cleaned
/// (spaces, case, blank optional fields); a structural fault rejects the whole file, naming its line or element.
public struct SchoolRoll: Sendable, Equatable {
    public enum Qualifier: String, Sendable, CaseIterable {
        /// Every pupil on roll: pupils missing from it have left.
        case full
        /// Only some pupils (changes): nobody missing from it has left.
        case partial
    }

    public var urn: String
    public var qualifier: Qualifier
    public var pupils: [RollPupil]

    public init(urn: String, qualifier: Qualifier, pupils: [RollPupil]) {
        self.urn = urn
        self.qualifier = qualifier
        self.pupils = pupils
    }
}

public struct RollPupil: Sendable, Equatable {
    public enum UPNStatus: String, Sendable {
        case valid, temporary, invalid, missing
    }

    /// Upper-cased and without spaces; as given when it fails its check (flagged, never dropped).
    public var upn: String
    public var upnStatus: UPNStatus
    public var surname: String
    public var forename: String
    public var dateOfBirth: LocalDate
    public var gender: String?
    public var yearGroup: String?
    public var entryDate: LocalDate?
    public var leavingDate: LocalDate?
    public var leavingReason: String?
    /// Where a leaver went (a school's URN, "home education", ...); blank is unknown.
    public var destination: String?
    public var postcode: String?
    /// Where the pupil is in the file ("line 12", "Pupil[3]").
    public var locator: String

    public init(
        upn: String, surname: String, forename: String, dateOfBirth: LocalDate, gender: String? = nil,
        yearGroup: String? = nil, entryDate: LocalDate? = nil, leavingDate: LocalDate? = nil,
        leavingReason: String? = nil, destination: String? = nil, postcode: String? = nil, locator: String = ""
    ) {
        let cleaned = upn.uppercased().filter { $0 != " " }
        if cleaned.isEmpty {
            upnStatus = .missing
        } else if let checked = Identifier.upn(cleaned) {
            upnStatus = checked.temporary ? .temporary : .valid
        } else {
            upnStatus = .invalid
        }
        self.upn = cleaned
        self.surname = surname
        self.forename = forename
        self.dateOfBirth = dateOfBirth
        self.gender = gender
        self.yearGroup = yearGroup
        self.entryDate = entryDate
        self.leavingDate = leavingDate
        self.leavingReason = leavingReason
        self.destination = destination
        self.postcode = postcode
        self.locator = locator
    }

    /// Name and date of birth, normalised: how a child named in a DAN is found on a roll without a UPN.
    public var identityKey: String { RollPupil.identityKey(forename: forename, surname: surname, born: dateOfBirth) }

    public static func identityKey(forename: String, surname: String, born: LocalDate) -> String {
        func clean(_ text: String) -> String {
            text.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "'" }).joined()
        }
        return "\(clean(surname))|\(clean(forename))|\(born)"
    }

    /// The key a roll diff pairs pupils on: the UPN, or name and date of birth when there is none.
    var diffKey: String { upn.isEmpty ? "name:" + identityKey : upn }

    public var hasLeft: Bool { leavingDate != nil }

    /// A UPN that passed its check (permanent or temporary): safe to find the child by.
    public var hasCheckedUPN: Bool { upnStatus == .valid || upnStatus == .temporary }

    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "upn": upn, "upnStatus": upnStatus.rawValue, "surname": surname, "forename": forename,
            "dateOfBirth": dateOfBirth.description, "locator": locator,
        ]
        object["gender"] = gender
        object["yearGroup"] = yearGroup
        object["entryDate"] = entryDate?.description
        object["leavingDate"] = leavingDate?.description
        object["leavingReason"] = leavingReason
        object["destination"] = destination
        object["postcode"] = postcode
        return object
    }

    public init(json data: [UInt8], source: String) throws {
        var reader = try DocumentReader(json: data, source: source)
        self.init(
            upn: try reader.string("upn"), surname: try reader.string("surname"),
            forename: try reader.string("forename"), dateOfBirth: try reader.date("dateOfBirth"),
            gender: try reader.optionalString("gender"), yearGroup: try reader.optionalString("yearGroup"),
            entryDate: try reader.optionalDate("entryDate"), leavingDate: try reader.optionalDate("leavingDate"),
            leavingReason: try reader.optionalString("leavingReason"),
            destination: try reader.optionalString("destination"), postcode: try reader.optionalString("postcode"),
            locator: try reader.string("locator"))
        _ = try reader.optionalString("upnStatus")
        try reader.finish()
    }
}

// MARK: reading

extension SchoolRoll {
    /// The CSV columns, matched without regard to case, spaces or underscores. The first five are required.
    public static let csvColumns = [
        "UPN", "Surname", "Forename", "DOB", "EntryDate", "Gender", "YearGroup", "LeavingDate", "LeavingReason",
        "Destination", "Postcode",
    ]

    /// A roll exported as CSV; the URN and qualifier come with the file (the message that carries it).
    public init(csv bytes: [UInt8], urn: String, qualifier: Qualifier, source: String) throws {
        let table = try CSVTable(parsing: bytes, source: source)
        var index: [String: Int] = [:]
        for (position, column) in table.columns.enumerated() {
            guard let known = Self.csvColumns.first(where: { CSVTable.sameColumn($0, column) }) else {
                throw DocumentError(
                    source: source, field: "line 1",
                    problem: "unknown column '\(column)' (known: \(Self.csvColumns.joined(separator: ", ")))")
            }
            index[known] = position
        }
        for required in Self.csvColumns.prefix(5) where index[required] == nil {
            throw DocumentError(
                source: source, field: "line 1", problem: "the required column '\(required)' is missing")
        }
        var pupils: [RollPupil] = []
        pupils.reserveCapacity(table.rows.count)
        for row in table.rows {
            var fields = RollFields(locator: "line \(row.line)", source: source)
            for (name, position) in index { fields.values[name] = row.values[position] }
            pupils.append(try fields.pupil())
        }
        self.init(urn: urn, qualifier: qualifier, pupils: pupils)
    }

    /// A roll in the shape of the DfE Common Transfer File: `CTfile/Header` (`DocumentQualifier`,
    /// `SourceSchool/URN`) and `CTfile/CTFpupilData/Pupil`. A pupil's entry, leaving date and reason come from
    /// its `SchoolHistory/School` entry for the source school (or the last entry).
    public init(ctf bytes: [UInt8], source: String) throws {
        let reader = CTFReader(source: source)
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        let parsed = parser.parse()
        if let fault = reader.fault { throw fault }
        guard parsed else {
            throw DocumentError(
                source: source, field: "line \(parser.lineNumber)",
                problem:
                    "not well-formed XML (column \(parser.columnNumber), parser error \((parser.parserError as NSError?)?.code ?? 0))"
            )
        }
        guard reader.sawRoot else {
            throw DocumentError(source: source, field: "", problem: "the root element must be CTfile")
        }
        guard let qualifierText = reader.qualifier else {
            throw DocumentError(source: source, field: "CTfile/Header/DocumentQualifier", problem: "is missing")
        }
        guard let qualifier = Qualifier(rawValue: qualifierText.lowercased()) else {
            throw DocumentError(
                source: source, field: "CTfile/Header/DocumentQualifier",
                problem: "'\(qualifierText)' is not full or partial")
        }
        guard let urn = reader.urn, !urn.isEmpty else {
            throw DocumentError(source: source, field: "CTfile/Header/SourceSchool/URN", problem: "is missing")
        }
        self.init(urn: urn, qualifier: qualifier, pupils: reader.pupils)
    }
}

/// One pupil's raw values, cleaned into a `RollPupil`; a required value missing or a date that cannot be read
/// is a fault of the whole file.
struct RollFields {
    var values: [String: String] = [:]
    let locator: String
    let source: String

    init(locator: String, source: String) {
        self.locator = locator
        self.source = source
    }

    func text(_ name: String) -> String? {
        guard let value = values[name] else { return nil }
        let trimmed = value.trimmingSpaces
        guard !trimmed.isEmpty else { return nil }
        guard trimmed.contains("  ") else { return trimmed }
        return trimmed.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    func required(_ name: String) throws -> String {
        guard let value = text(name) else {
            throw DocumentError(source: source, field: "\(locator) \(name)", problem: "is required and blank")
        }
        return value
    }

    func date(_ name: String) throws -> LocalDate? {
        guard let value = text(name) else { return nil }
        if let date = LocalDate(value) { return date }
        // 23/11/2026, as spreadsheets write it.
        let parts = value.split(separator: "/")
        if parts.count == 3, let day = Int(parts[0]), let month = Int(parts[1]), let year = Int(parts[2]),
            parts[2].count == 4, let date = LocalDate("\(year)-\(month)-\(day)")
        {
            return date
        }
        throw DocumentError(
            source: source, field: "\(locator) \(name)", problem: "'\(value)' is not a date (YYYY-MM-DD or DD/MM/YYYY)")
    }

    func pupil() throws -> RollPupil {
        let born = try date("DOB")
        guard let born else {
            throw DocumentError(source: source, field: "\(locator) DOB", problem: "is required and blank")
        }
        guard let entry = try date("EntryDate") else {
            throw DocumentError(source: source, field: "\(locator) EntryDate", problem: "is required and blank")
        }
        return RollPupil(
            upn: text("UPN") ?? "", surname: try required("Surname"), forename: try required("Forename"),
            dateOfBirth: born, gender: text("Gender")?.uppercased(), yearGroup: text("YearGroup")?.uppercased(),
            entryDate: entry, leavingDate: try date("LeavingDate"), leavingReason: text("LeavingReason"),
            destination: text("Destination"), postcode: text("Postcode")?.uppercased(), locator: locator)
    }
}

/// A SAX reader for the CTF shape: only the elements the roll needs, every other element ignored.
private final class CTFReader: NSObject, XMLParserDelegate {
    let source: String
    var fault: DocumentError?
    private var xmlBroken = false
    var sawRoot = false
    var qualifier: String?
    var urn: String?
    var pupils: [RollPupil] = []

    private var path: [String] = []
    private var text = ""
    private var pupil: RollFields?
    private var pupilIndex = 0
    private var school: [String: String] = [:]
    private var schools: [[String: String]] = []

    init(source: String) { self.source = source }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if path.isEmpty {
            guard name == "CTfile" else {
                fail(parser, DocumentError(source: source, field: name, problem: "the root element must be CTfile"))
                return
            }
            sawRoot = true
        }
        path.append(name)
        text = ""
        if path == ["CTfile", "CTFpupilData", "Pupil"] {
            pupilIndex += 1
            pupil = RollFields(locator: "Pupil[\(pupilIndex)] (line \(parser.lineNumber))", source: source)
            schools = []
        } else if pupil != nil, name == "School", path.dropLast().last == "SchoolHistory" {
            school = [:]
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let value = text
        text = ""
        defer { path.removeLast() }
        switch path {
        case ["CTfile", "Header", "DocumentQualifier"]: qualifier = value.trimmingSpaces
        case ["CTfile", "Header", "SourceSchool", "URN"]: urn = value.trimmingSpaces
        case ["CTfile", "CTFpupilData", "Pupil"]: finishPupil(parser)
        default: break
        }
        guard pupil != nil, path.count > 3, Array(path.prefix(3)) == ["CTfile", "CTFpupilData", "Pupil"] else {
            return
        }
        let inner = Array(path.dropFirst(3))
        switch inner {
        case ["UPN"], ["Surname"], ["Forename"], ["DOB"], ["Gender"]:
            pupil?.values[inner[0]] = value
        case ["BasicDetails", "NCyearActual"]:
            pupil?.values["YearGroup"] = value
        case ["SchoolHistory", "School"]:
            schools.append(school)
        case _ where inner.count == 3 && inner[0] == "SchoolHistory" && inner[1] == "School":
            school[inner[2]] = value
        case _ where inner.first == "Address" && (name == "PostCode" || name == "Postcode"):
            pupil?.values["Postcode"] = value
        default:
            break
        }
    }

    /// libxml2 recovers from some faults and then reports elements it closed itself: once the XML is broken,
    /// that is the fault to report, not what a half-read pupil lacks.
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if fault == nil { xmlBroken = true }
    }

    /// `</Pupil>`: the pupil's own school history entry gives its entry and leaving.
    private func finishPupil(_ parser: XMLParser) {
        guard var current = pupil else { return }
        let own = schools.last { $0["URN"]?.trimmingSpaces == urn } ?? schools.last ?? [:]
        current.values["EntryDate"] = own["EntryDate"]
        current.values["LeavingDate"] = own["LeavingDate"]
        current.values["LeavingReason"] = own["LeavingReason"]
        current.values["Destination"] = own["DestinationURN"]
        do {
            pupils.append(try current.pupil())
        } catch let error as DocumentError {
            fail(parser, error)
        } catch {}
        pupil = nil
    }

    private func fail(_ parser: XMLParser, _ error: DocumentError) {
        if fault == nil && !xmlBroken { fault = error }
        parser.abortParsing()
    }
}

// MARK: storage

extension RollPupil {
    /// A compact encoding of a roll for the coordinator's store (sealed there as one blob per school): fields
    /// separated by U+001F, pupils by U+001E. Neither can appear in a cleaned CSV or XML value.
    public static func encode(_ pupils: [RollPupil]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pupils.count * 96)
        for (index, pupil) in pupils.enumerated() {
            if index > 0 { out.append(0x1E) }
            let fields: [String] = [
                pupil.upn, pupil.surname, pupil.forename, pupil.dateOfBirth.description, pupil.gender ?? "",
                pupil.yearGroup ?? "", pupil.entryDate?.description ?? "", pupil.leavingDate?.description ?? "",
                pupil.leavingReason ?? "", pupil.destination ?? "", pupil.postcode ?? "", pupil.locator,
            ]
            for (position, field) in fields.enumerated() {
                if position > 0 { out.append(0x1F) }
                out.append(contentsOf: field.utf8)
            }
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) -> [RollPupil] {
        guard !bytes.isEmpty else { return [] }
        return bytes.split(separator: 0x1E, omittingEmptySubsequences: false).compactMap { record in
            let fields = record.split(separator: 0x1F, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            guard fields.count == 12, let born = LocalDate(fields[3]) else { return nil }
            func optional(_ index: Int) -> String? { fields[index].isEmpty ? nil : fields[index] }
            return RollPupil(
                upn: fields[0], surname: fields[1], forename: fields[2], dateOfBirth: born, gender: optional(4),
                yearGroup: optional(5), entryDate: optional(6).flatMap(LocalDate.init),
                leavingDate: optional(7).flatMap(LocalDate.init), leavingReason: optional(8),
                destination: optional(9), postcode: optional(10), locator: fields[11])
        }
    }
}
