import ArgumentParser
import Foundation
import MASHCore

extension SchoolRoll.Qualifier: ExpressibleByArgument {}

/// `mashctl send`: what a partner's system sends the hub, from a file, for onboarding checks and the demo.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract:
            "Check a document, seal it as its sender and send it to the hub (DANs, open cases, rolls, receipts, decisions).",
        discussion: """
            The file is a JSON document whose `schema` names its type (docs/protocol.md): \
            mash.domestic-abuse-notification/1 (sent as police unless --party says otherwise), mash.open-case/1 \
            (csc), mash.school-roll/1 (orchestra), mash.encompass-acknowledgement/1 (give --as: the school or \
            la-officer), mash.decision/1 (decision-maker), mash.enquiry/1 and mash.consent-withdrawal/1 (spa), \
            mash.missing-report/1 and mash.found-report/1 (police), mash.return-interview/1 (missing-coordinator). \
            It is read as strictly as the hub \
            reads it, a roll's content included; an error names the field or the line and nothing is sent. With \
            --urn, the file is a school's roll itself (CSV or CTF XML) and is wrapped in a mash.school-roll/1 \
            document first.

            The document is signed with the sender's newest key in --keys, encrypted to the coordinator's, and \
            published to mash.intake with its routing key, waiting for the broker's confirm. The broker URL is \
            --broker or $MASH_<SENDER>_URL (MASH_POLICE_URL, MASH_ORCHESTRA_URL, MASH_SCHOOL_990001_URL, ...).

            Examples:
              mashctl send dan.json --party police
              mashctl send roll.csv --urn 990001 --qualifier full --party orchestra
              mashctl send roll.xml --urn 990002 --check
              mashctl send decision.json                  # as decision-maker
            """)

    @Argument(help: "The document (JSON), or with --urn a roll file (CSV or CTF XML).")
    var file: String

    @Option(help: "Wrap a roll file (CSV or CTF XML) for this school (its URN) in a mash.school-roll/1 document.")
    var urn: String?

    @Option(help: "With --urn, for a CSV roll: full (every pupil on roll) or partial (changes only).")
    var qualifier: SchoolRoll.Qualifier?

    @Flag(help: "Only check the file; send nothing.")
    var check = false

    @OptionGroup var sender: SenderOptions

    func validate() throws {
        if urn == nil && qualifier != nil { throw ValidationError("--qualifier goes with --urn (a roll file)") }
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("\(file): cannot read the file")
        }
        let document = try urn.map { try rollDocument(Array(data), urn: $0) } ?? Array(data)
        let (type, summary) = try Self.check(document, source: file)
        guard let routingKey = Self.routingKeys[type] else {
            throw CommandFailure("\(file): \(type.rawValue) is sent by the hub, not to it")
        }
        let party = sender.party ?? Self.defaultSenders[type]
        guard let party else {
            throw CommandFailure("\(file): say who sends a \(type.rawValue) with --party (the school or la-officer)")
        }
        if check {
            StandardStreams.note("\(file): a valid \(type.rawValue) (\(summary))")
            return
        }
        let id = try await sender.send(document, type: type, as: party, routingKey: routingKey)
        StandardStreams.note("sent \(type.rawValue) (\(summary)) as \(party), message \(id)")
    }

    static let routingKeys: [DocumentType: String] = [
        .enquiry: "enquiry", .consentWithdrawal: "enquiry", .domesticAbuseNotification: "dan",
        .openCase: "open-case", .schoolRoll: "roll", .encompassAcknowledgement: "encompass-acknowledgement",
        .decision: "decision", .missingReport: "missing", .foundReport: "missing", .returnInterview: "missing",
    ]

    static let defaultSenders: [DocumentType: String] = [
        .enquiry: "spa", .consentWithdrawal: "spa", .domesticAbuseNotification: "police", .openCase: "csc",
        .schoolRoll: "orchestra", .decision: "decision-maker", .missingReport: "police", .foundReport: "police",
        .returnInterview: "missing-coordinator",
    ]

    /// Reads the document as the hub will, returning its type and a line about it without personal data.
    static func check(_ document: [UInt8], source: String) throws -> (DocumentType, String) {
        let object = try? JSONSerialization.jsonObject(with: Data(document)) as? [String: Any]
        guard let schema = object?["schema"] as? String else {
            throw CommandFailure("\(source): not a JSON document with a \"schema\" member (docs/protocol.md)")
        }
        guard let type = DocumentType(rawValue: schema) else {
            throw CommandFailure("\(source): 'schema': '\(schema)' is not a document type this gateway knows")
        }
        switch type {
        case .enquiry:
            let enquiry = try Enquiry(json: document, source: source)
            return (type, "enquiry \(enquiry.id), \(enquiry.rag.rawValue)")
        case .consentWithdrawal:
            return (type, "enquiry \(try ConsentWithdrawal(json: document, source: source).enquiryID)")
        case .domesticAbuseNotification:
            let notification = try DomesticAbuseNotification(json: document, source: source)
            let level = notification.assessment.effectiveLevel.rawValue
            return (type, "\(notification.id), \(level), \(notification.children.count) children")
        case .openCase:
            return (type, try OpenCaseUpdate(json: document, source: source).open ? "open" : "closed")
        case .schoolRoll:
            let file = try SchoolRollFile(json: document, source: source)
            let roll = try file.roll(source: source)
            return (type, "school \(roll.urn), \(roll.qualifier.rawValue), \(roll.pupils.count) pupils")
        case .encompassAcknowledgement:
            return (type, "notice \(try EncompassAcknowledgement(json: document, source: source).noticeID)")
        case .decision:
            let decision = try Decision(json: document, source: source)
            return (type, "enquiry \(decision.enquiryID), \(decision.outcome.rawValue)")
        case .missingReport:
            let report = try MissingReport(json: document, source: source)
            return (type, "episode \(report.episodeID), \(report.risk.rawValue)")
        case .foundReport:
            return (type, "episode \(try FoundReport(json: document, source: source).episodeID)")
        case .returnInterview:
            let interview = try ReturnInterview(json: document, source: source)
            return (
                type,
                "episode \(interview.episodeID), \(interview.heldAt == nil ? interview.response.rawValue : "held")"
            )
        default:
            return (type, type.rawValue)
        }
    }

    func rollDocument(_ content: [UInt8], urn: String) throws -> [UInt8] {
        let text = String(decoding: content, as: UTF8.self)
        let isXML = text.drop { $0 == "\u{FEFF}" || $0.isWhitespace }.hasPrefix("<")
        if isXML && qualifier != nil {
            throw ValidationError("--qualifier is for CSV rolls: a CTF file states its own DocumentQualifier")
        }
        if !isXML && qualifier == nil {
            throw ValidationError("a CSV roll needs --qualifier full (every pupil on roll) or partial (changes only)")
        }
        return SchoolRollFile(urn: urn, format: isXML ? .ctf : .csv, qualifier: qualifier, content: text).json
    }
}
