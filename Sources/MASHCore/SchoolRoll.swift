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
        let (cleaned, status) = Self.checkedUPN(upn)
        self.init(
            upn: cleaned, status: status, surname: surname, forename: forename, dateOfBirth: dateOfBirth,
            gender: gender, yearGroup: yearGroup, entryDate: entryDate, leavingDate: leavingDate,
            leavingReason: leavingReason, destination: destination, postcode: postcode, locator: locator)
    }

    /// The UPN upper case without spaces, and its status.
    static func checkedUPN(_ upn: String) -> (String, UPNStatus) {
        let cleaned = upn.uppercased().filter { $0 != " " }
        if cleaned.isEmpty { return (cleaned, .missing) }
        guard let checked = Identifier.upn(cleaned) else { return (cleaned, .invalid) }
        return (cleaned, checked.temporary ? .temporary : .valid)
    }

    /// The same from a file's bytes: those already clean (ASCII, upper case, no spaces) are checked in place.
    static func checkedUPN(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, UPNStatus) {
        guard Identifier.isCleanUPNText(bytes) else {
            return checkedUPN(String(decoding: bytes, as: UTF8.self))
        }
        let status: UPNStatus = Identifier.upnCheck(bytes).map { $0 ? .temporary : .valid } ?? .invalid
        return (String(decoding: bytes, as: UTF8.self), status)
    }

    /// A pupil whose UPN is already cleaned and checked (by `RollCSVReader`, from the file's bytes).
    init(
        upn: String, status: UPNStatus, surname: String, forename: String, dateOfBirth: LocalDate, gender: String?,
        yearGroup: String?, entryDate: LocalDate?, leavingDate: LocalDate?, leavingReason: String?,
        destination: String?, postcode: String?, locator: String
    ) {
        self.upn = upn
        upnStatus = status
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
        let pupils = try bytes.withUnsafeBufferPointer { try RollCSVReader.read($0, source: source) }
        self.init(urn: urn, qualifier: qualifier, pupils: pupils)
    }

    /// The same, read in place from the text a roll message carries.
    public init(csv text: String, urn: String, qualifier: Qualifier, source: String) throws {
        var text = text
        let pupils = try text.withUTF8 { try RollCSVReader.read($0, source: source) }
        self.init(urn: urn, qualifier: qualifier, pupils: pupils)
    }

    /// A roll in the shape of the DfE Common Transfer File: `CTfile/Header` (`DocumentQualifier`,
    /// `SourceSchool/URN`) and `CTfile/CTFpupilData/Pupil`. A pupil's entry, leaving date and reason come from
    /// its `SchoolHistory/School` entry for the source school (or the last entry).
    public init(ctf bytes: [UInt8], source: String) throws {
        if let roll = bytes.withUnsafeBufferPointer({ RollCTFReader.read($0, source: source) }) {
            self = roll
            return
        }
        try self.init(xmlParsing: bytes, source: source)
    }

    /// The same read by Foundation's `XMLParser`: every file `RollCTFReader` leaves to it, and the reference
    /// that reader is tested against.
    init(xmlParsing bytes: [UInt8], source: String) throws {
        if let (line, column) = RollCTFReader.notUTF8(bytes) {
            throw DocumentError(
                source: source, field: "line \(line)",
                problem:
                    "is not UTF-8 (column \(column)); a CTF file must be UTF-8 unless its XML declaration names its encoding"
            )
        }
        let reader = CTFReader(source: source)
        let parser = XMLParser(data: Data(RollCTFReader.spacingEmptyInstructions(bytes)))
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
        if let date = Self.date(value) { return date }
        throw DocumentError(
            source: source, field: "\(locator) \(name)", problem: "'\(value)' is not a date (YYYY-MM-DD or DD/MM/YYYY)")
    }

    /// `YYYY-MM-DD`, or `23/11/2026` as spreadsheets write it.
    static func date(_ value: String) -> LocalDate? {
        if let date = LocalDate(value) { return date }
        let parts = value.split(separator: "/")
        if parts.count == 3, let day = Int(parts[0]), let month = Int(parts[1]), let year = Int(parts[2]),
            parts[2].count == 4, let date = LocalDate("\(year)-\(month)-\(day)")
        {
            return date
        }
        return nil
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
        return bytes.withUnsafeBufferPointer { buffer in
            var pupils: [RollPupil] = []
            var fields: [Range<Int>] = []
            fields.reserveCapacity(12)
            func field(_ index: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: buffer[fields[index]])
            }
            func optional(_ index: Int) -> String? {
                fields[index].isEmpty ? nil : String(decoding: field(index), as: UTF8.self)
            }
            func date(_ index: Int) -> LocalDate? { fields[index].isEmpty ? nil : RollValue.date(field(index)) }
            func record() {
                defer { fields.removeAll(keepingCapacity: true) }
                guard fields.count == 12, let born = date(3) else { return }
                let (upn, status) = checkedUPN(field(0))
                pupils.append(
                    RollPupil(
                        upn: upn, status: status, surname: optional(1) ?? "", forename: optional(2) ?? "",
                        dateOfBirth: born, gender: optional(4), yearGroup: optional(5), entryDate: date(6),
                        leavingDate: date(7), leavingReason: optional(8), destination: optional(9),
                        postcode: optional(10), locator: optional(11) ?? ""))
            }
            var start = 0
            for (index, byte) in buffer.enumerated() where byte == 0x1F || byte == 0x1E {
                fields.append(start..<index)
                start = index + 1
                if byte == 0x1E { record() }
            }
            fields.append(start..<buffer.count)
            record()
            return pupils
        }
    }
}
