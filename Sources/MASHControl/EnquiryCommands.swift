import AMQP
import ArgumentParser
import Foundation
import MASHConfig
import MASHCore
import MASHProtocol
import Sealing

struct EnquiryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enquiry",
        abstract: "Open an enquiry or withdraw consent for one (as the SPA); show one (as an operator).",
        subcommands: [OpenEnquiry.self, WithdrawConsent.self, ShowEnquiry.self])
}

/// Which party sends (the SPA unless --party says otherwise), where its key and the coordinator's public key are, and how to
/// reach the broker.
struct SenderOptions: ParsableArguments {
    @Option(help: "Key directory holding <dir>/<party>/*.pem and <dir>/coordinator/*.jwk.")
    var keys: String = ".build/keys"

    @Option(help: "The sending party (its broker user and key folder). Default: spa.")
    var party: String?

    @Option(help: "Broker URL for the sender's user. Default: $MASH_<SENDER>_URL ($MASH_SPA_URL for the SPA).")
    var broker: String?

    var sender: String { party ?? "spa" }

    /// `MASH_SPA_URL`, `MASH_POLICE_URL`, `MASH_TURNING_POINT_URL`, ...
    static func environmentVariable(for sender: String) -> String {
        "MASH_\(sender.uppercased().replacingOccurrences(of: "-", with: "_"))_URL"
    }

    /// Seals `payload` to the coordinator and publishes it to the intake exchange; returns the message id.
    func send(_ payload: [UInt8], type: DocumentType, as sender: String? = nil, routingKey: String = "enquiry")
        async throws -> String
    {
        try await Self.send(
            payload, type: type, as: sender ?? self.sender, keys: keys, broker: broker, routingKey: routingKey)
    }

    /// Seals `payload` as `sender` to the coordinator and publishes it to the intake exchange on a connection
    /// of its own, as the broker user of `broker` (default `$MASH_<SENDER>_URL`); returns the message id.
    static func send(
        _ payload: [UInt8], type: DocumentType, as sender: String, keys: String, broker: String?, routingKey: String
    ) async throws -> String {
        let variable = environmentVariable(for: sender)
        guard let url = broker ?? ProcessInfo.processInfo.environment[variable] else {
            throw CommandFailure(
                "no broker: pass --broker amqp://\(sender):…@host:port/mash or set \(variable)")
        }
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: try AMQPURL(url), connectionName: "mashctl \(sender)"))
        do {
            let id = try await publish(
                payload, type: type, as: sender, keys: keys, on: connection, routingKey: routingKey)
            await connection.close()
            return id
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Seals `payload` as `sender` (its key in `keys`) to the coordinator and publishes it on `connection` to
    /// the intake exchange; returns the message id.
    static func publish(
        _ payload: [UInt8], type: DocumentType, as sender: String, keys: String, on connection: AMQPConnection,
        routingKey: String
    ) async throws -> String {
        let pair = try KeyDirectory.keyPairs(agency: sender, in: keys).signingPair()
        let coordinator = try KeyDirectory.newestPublicKey(agency: "coordinator", in: keys)
        let id = UUID().uuidString.lowercased()
        let sealed = try Sealer(sender: pair).seal(payload, type: type.rawValue, messageID: id, to: coordinator)
        try await connection.publish(
            OutboundMessage(
                body: Array(sealed.utf8),
                properties: MessageProperties(
                    messageID: id, type: type.rawValue, contentType: "application/jose", appID: "mashctl",
                    timestamp: UInt64(Date().timeIntervalSince1970), headers: ["x-mash-sender": .string(sender)])),
            exchange: HubQueues.intakeExchange, routingKey: routingKey)
        return id
    }
}

struct OpenEnquiry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Check an enquiry file, seal it to the coordinator and send it.",
        discussion: """
            The file is a mash.enquiry/1 document (docs/protocol.md). It is checked first; an error names the \
            field at fault and nothing is sent. With --check, only the check runs, and it asks what the \
            coordinator will: are the agencies listed configured in the hub's routing rules, and does the consent \
            (or override) cover them? Examples:
              mashctl enquiry open --file enquiry.json --check
              mashctl enquiry open --file enquiry.json --broker "$MASH_SPA_URL"
            """)

    @Option(help: "The enquiry document (JSON).")
    var file: String

    @Flag(help: "Only check the file, as the coordinator will (with --routing); send nothing.")
    var check = false

    @Option(help: "The hub's routing rules, for --check: the agencies configured, the defaults per RAG rating.")
    var routing = "Config/routing.yaml"

    @OptionGroup var spa: SenderOptions

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("\(file): cannot read the file")
        }
        let enquiry = try Enquiry(json: Array(data), source: file)
        if check {
            switch try RoutingConfiguration.load(file: routing).admit(enquiry) {
            case .failure(let refusal):
                throw CommandFailure("\(file): the hub would refuse this enquiry: \(refusal.reason)")
            case .success(let agencies):
                StandardStreams.note(
                    "\(file): a valid \(enquiry.rag.rawValue) enquiry, id \(enquiry.id), for "
                        + agencies.map(\.id).joined(separator: ", "))
            }
            return
        }
        let id = try await spa.send(enquiry.json, type: .enquiry)
        StandardStreams.note("sent enquiry \(enquiry.id) (\(enquiry.rag.rawValue)) as message \(id)")
    }
}

struct WithdrawConsent: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "withdraw-consent",
        abstract: "Record that consent was withdrawn: the coordinator cancels every outstanding request.")

    @Argument(help: "The enquiry id.")
    var enquiryID: String

    @Option(help: "Who recorded the withdrawal (a staff id).")
    var recordedBy: String

    @OptionGroup var spa: SenderOptions

    func run() async throws {
        let withdrawal = ConsentWithdrawal(enquiryID: enquiryID, withdrawnAt: Date(), recordedBy: recordedBy)
        let id = try await spa.send(withdrawal.json, type: .consentWithdrawal)
        StandardStreams.note("sent consent withdrawal for \(enquiryID) as message \(id)")
    }
}
