import ArgumentParser
import Foundation
import MASHCore
import MASHPostgres
import MASHReadModel
import Sealing

extension HubReadModel.EnquiryFilter: ExpressibleByArgument {}

/// Where the coordinator's store is, for every command that reads it (audit, status, enquiries, dlq replay).
struct StoreOption: ParsableArguments {
    @Option(
        help: """
            The coordinator's store, read only: its SQLite file, or a postgresql:// URL (as --postgres).
            """)
    var store: String = ".build/coordinator/coordinator.sqlite"

    @Option(
        help: """
            The coordinator's store on PostgreSQL instead of --store: a libpq URL, best as the read-only role \
            (postgresql://mash_reader@db1,db2/mash?sslmode=verify-full). Default: $MASH_POSTGRES_READER_URL.
            """)
    var postgres: String?

    func open() throws -> HubReadModel {
        if let url = postgres ?? ProcessInfo.processInfo.environment["MASH_POSTGRES_READER_URL"] {
            return HubReadModel(try PostgresStore(conninfo: url))
        }
        if store.hasPrefix("postgresql://") || store.hasPrefix("postgres://") {
            return HubReadModel(try PostgresStore(conninfo: store))
        }
        return try HubReadModel(readingAt: store)
    }
}

/// JSON as every `--json` prints it: sorted keys, ISO 8601 dates, a final newline.
enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(value)) + [10]
    }

    static func write(_ value: some Encodable) throws { StandardStreams.write(try encode(value)) }
}

struct Enquiries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enquiries",
        abstract: "List enquiries, newest first, with their deadlines and who has not answered.",
        discussion: """
            Reads the coordinator's store; shows ids, ratings, states and times, never an enquiry's content. \
            BREACH IN is the time left to the soonest deadline still running (negative once passed).

            Examples:
              mashctl enquiries --rag red --status awaiting
              mashctl enquiries --status breached --json
            """)

    @Option(help: "Only this RAG rating: red, amber or green.")
    var rag: RAG?

    @Option(help: "Only enquiries awaiting answers, complete (package sent), or breached (a deadline passed).")
    var status: HubReadModel.EnquiryFilter?

    @Option(help: "At most this many.")
    var limit: Int = 50

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var storeOption: StoreOption

    func run() throws {
        let now = Date()
        let list = try storeOption.open().enquiries(rag: rag, filter: status, limit: limit, now: now)
        if json { return try JSONOutput.write(list) }
        var lines = [
            Format.row([
                ("ENQUIRY", -36), ("RAG", -5), ("STATUS", -8), ("BREACH IN", 9), ("ANSWERED", 9), ("", 0),
            ])
        ]
        for enquiry in list {
            let answered = enquiry.requests.filter { $0.status == "answered" }.count
            let left = enquiry.nextDeadline.map { Format.signedAge($0.timeIntervalSince(now)) } ?? "-"
            lines.append(
                Format.row([
                    (enquiry.id, -36), (enquiry.rag, -5), (enquiry.breached ? "breached" : enquiry.status, -8),
                    (left, 9), ("\(answered)/\(enquiry.requests.count)", 9),
                ]))
            if enquiry.status == "awaiting", !enquiry.notAnswered.isEmpty {
                lines += Format.wrap("  waiting on: " + enquiry.notAnswered.joined(separator: ", "), 80)
            }
        }
        if list.isEmpty { lines.append("(no enquiries match)") }
        StandardStreams.write(Array((lines.joined(separator: "\n") + "\n").utf8))
    }
}

struct ShowEnquiry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "One enquiry: its clocks, the agency × status matrix and its timeline; its package with the key.",
        discussion: """
            Without --key this shows ids, states and times only. With the decision maker's private key it also \
            opens the decision package the coordinator sent (sealed to the decision maker) and prints it: that is \
            a view of personal data, so the coordinator records it first (who — your own signed --staff key, with \
            the practice-manager, dpo or auditor role — when, which enquiry, --reason). If it cannot be recorded, \
            nothing is opened. `mashctl audit views` lists such views.

            Examples:
              mashctl enquiry show 7f0c…
              mashctl enquiry show 7f0c… --key .build/keys/decision-maker --trust .build/keys \
                  --reason "Complaint C-2026-31" --staff a.ahmed
            """)

    @Argument(help: "The enquiry id.")
    var enquiryID: String

    @Option(
        help: """
            The decision maker's key folder (<keys>/decision-maker: whichever of its keys the package was sealed \
            to), or one private key (.pem) of it, to open the package.
            """)
    var key: String?

    @Option(help: "Trusted senders' public keys (.jwk, searched recursively), to verify the package.")
    var trust: String = ".build/keys"

    @Flag(help: "Print JSON (the package, when opened, as its JSON document).")
    var json = false

    @Option(
        help: "With --key: why you open the package (a case or complaint reference); recorded. Required with --key.")
    var reason: String?

    @OptionGroup var staff: StaffOptions
    @OptionGroup var hub: HubOptions

    func validate() throws {
        guard key != nil else { return }
        guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ValidationError("--key opens personal data: say why with --reason (it is recorded)")
        }
        _ = try staff.id()
    }

    struct Shown: Encodable {
        var enquiry: HubReadModel.EnquiryOverview
        var timeline: [HubReadModel.TimelineEvent]
        var package: AnyJSON?
    }

    func run() async throws {
        let now = Date()
        let store = try hub.storeOption.open()
        guard let enquiry = try store.enquiry(id: enquiryID, now: now) else {
            throw CommandFailure("no enquiry \(enquiryID) in \(hub.storeOption.store)")
        }
        let timeline = try store.timeline(enquiryID: enquiryID)
        var package: [UInt8]?
        if let key {
            guard let sealed = try store.decisionPackage(enquiryID: enquiryID) else {
                throw CommandFailure("enquiry \(enquiryID) has no decision package yet")
            }
            try await staff.recordView(of: .enquiry, enquiryID, reason: reason ?? "", hub: hub)
            // The decision maker's key folder (every key it holds, whichever the package was sealed to), or one
            // of its private key files.
            var isFolder: ObjCBool = false
            let folder = FileManager.default.fileExists(atPath: key, isDirectory: &isFolder) && isFolder.boolValue
            let url = URL(fileURLWithPath: key)
            let recipient = (folder ? url : url.deletingLastPathComponent()).lastPathComponent
            let pairs =
                folder
                ? try KeyDirectory.keyPairs(agency: recipient, in: url.deletingLastPathComponent().path)
                : [
                    try AgencyKeyPair(
                        agency: recipient, privateKey: try KeyDirectory.loadPrivateKey(key), file: key,
                        use: try KeyDirectory.use(of: key))
                ]
            let opener = Opener(
                recipient: recipient, keyPairs: pairs, trusted: try TrustStore(directory: trust),
                window: .greatestFiniteMagnitude)
            package = try opener.open(String(decoding: sealed, as: UTF8.self)).payload
        }
        if json {
            return try JSONOutput.write(
                Shown(enquiry: enquiry, timeline: timeline, package: package.map { AnyJSON(bytes: $0) }))
        }
        var lines = [
            "Enquiry \(enquiry.id): \(enquiry.rag), \(enquiry.breached ? "breached, " : "")\(enquiry.status)",
            "  opened \(Instant.format(enquiry.openedAt)); partners due \(Instant.format(enquiry.partnersDue)); "
                + "decision due \(Instant.format(enquiry.decisionDue))",
            "",
            Format.row([("AGENCY", -14), ("MANDATORY", -9), ("STATUS", -9), ("OUTCOME", -16), ("DUE / ANSWERED", -24)]),
        ]
        for request in enquiry.requests {
            let when: String
            if let answered = request.answeredAt {
                when = "answered " + Format.clock(answered)
            } else if request.status == "sent" {
                when = "breach in " + Format.signedAge(request.due.timeIntervalSince(now))
            } else {
                when = "-"
            }
            lines.append(
                Format.row([
                    (request.agency, -14), (request.mandatory ? "yes" : "no", -9),
                    (request.status == "sent" ? "waiting" : request.status, -9), (request.outcome ?? "-", -16),
                    (when, -24),
                ]))
        }
        if !enquiry.notAnswered.isEmpty, enquiry.status == "awaiting" {
            lines += Format.wrap("Not answered: " + enquiry.notAnswered.joined(separator: ", "), 80)
        }
        lines += ["", "TIMELINE"]
        for event in timeline {
            lines += Format.wrap(
                "\(Format.clock(event.at))  \(event.event)\(event.agency.map { " (\($0))" } ?? "")  \(event.detail)",
                80)
        }
        if let package {
            lines += ["", "DECISION PACKAGE (opened with \(key ?? ""))", String(decoding: package, as: UTF8.self)]
        }
        StandardStreams.write(Array((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// A JSON document passed through as it is.
struct AnyJSON: Encodable {
    var bytes: [UInt8]

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(
            JSONValue(any: try JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)))
    }
}

/// Enough of JSON to re-encode a parsed document with `JSONEncoder`.
enum JSONValue: Encodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(any value: Any) {
        switch value {
        case let number as NSNumber where String(cString: number.objCType) == "c": self = .bool(number.boolValue)
        case let number as NSNumber: self = .number(number.doubleValue)
        case let string as String: self = .string(string)
        case let array as [Any]: self = .array(array.map(JSONValue.init(any:)))
        case let object as [String: Any]: self = .object(object.mapValues(JSONValue.init(any:)))
        default: self = .null
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension Format {
    /// `3h05m`, or `-12m04s` once passed.
    static func signedAge(_ seconds: TimeInterval) -> String {
        seconds < 0 ? "-" + age(-seconds) : age(seconds)
    }

    /// `2026-11-23 14:05:00Z`.
    static func clock(_ date: Date) -> String {
        Instant.format(date).replacingOccurrences(of: "T", with: " ")
    }
}

extension Instant {
    /// An option's instant, with Z or an offset; a usage error naming the option otherwise.
    static func option(_ text: String, _ option: String) throws -> Date {
        guard let date = parse(text) else {
            throw ValidationError(
                "\(option) '\(text)' is not an ISO 8601 time with Z or an offset (2026-11-29T08:30:00Z)")
        }
        return date
    }
}
