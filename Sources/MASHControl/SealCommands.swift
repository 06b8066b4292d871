import ArgumentParser
import Foundation
import MASHCore
import Sealing

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seal standard input to an addressee: sign (JWS ES256), then encrypt (JWE ECDH-ES+A256KW, A256GCM).",
        discussion: """
            Writes the compact JWE to standard output. For partner developers checking their own client against \
            ours; the profile is in docs/protocol.md. Example:
              mashctl seal --key keys/police/2026...pem --to keys/coordinator/2026...jwk \\
                  --type mash.research-response/1 < response.json > sealed.txt
            """
    )

    @Option(help: "The sender's private key (.pem). Its folder names the sending agency unless --sender is given.")
    var key: String

    @Option(help: "The addressee's public key (.jwk).")
    var to: String

    @Option(
        help: ArgumentHelp(
            "The document type: its schema string in full, carried as the JWS 'cty' and the AMQP 'type'.",
            discussion: "One of: \(DocumentType.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "schema"))
    var type: String

    func validate() throws {
        guard DocumentType(rawValue: type) != nil else {
            let near = DocumentType.allCases.first { $0.rawValue.contains(type) }
            throw ValidationError(
                "--type '\(type)' is not a document type"
                    + (near.map { "; did you mean '\($0.rawValue)'?" } ?? "")
                    + " The hub dead-letters a message whose cty is not one (unexpectedType). See --help for the list.")
        }
    }

    @Option(help: "The message id ('jti'). Default: a new UUID.")
    var id: String = UUID().uuidString.lowercased()

    @Option(help: "The sending agency id. Default: the name of the folder holding --key.")
    var sender: String?

    func run() throws {
        StandardStreams.write(Array(try seal(StandardStreams.readInput()).utf8))
    }

    func seal(_ payload: [UInt8]) throws -> String {
        let agency = sender ?? URL(fileURLWithPath: key).deletingLastPathComponent().lastPathComponent
        let pair = try AgencyKeyPair(
            agency: agency, privateKey: try KeyDirectory.loadPrivateKey(key), file: key,
            use: try KeyDirectory.use(of: key))
        guard let data = FileManager.default.contents(atPath: to) else {
            throw CommandFailure("\(to): cannot read the addressee's public key")
        }
        let addressee = try AgencyPublicKey.parse(jwk: Array(data), source: to)
        return try Sealer(sender: pair).seal(payload, type: type, messageID: id, to: addressee)
    }
}

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open a sealed message from standard input: decrypt, verify the signature, check sender and time.",
        discussion: """
            Writes the payload to standard output and what the message says about itself to standard error. \
            Refusals name their reason (unknownKey, signatureInvalid, wrongSender, issuedOutsideWindow, ...) \
            and exit 1. Example:
              mashctl open --key keys/coordinator/2026...pem --trust keys < sealed.txt
            """
    )

    @Option(help: "The addressee's private key (.pem). Its folder names the addressee unless --recipient is given.")
    var key: String

    @Option(help: "A directory of trusted senders' public keys (.jwk files, searched recursively).")
    var trust: String

    @Option(help: "The addressee agency id. Default: the name of the folder holding --key.")
    var recipient: String?

    @Option(help: "Accept messages issued up to this many seconds from now, either way.")
    var window: Int = 300

    func run() throws {
        let (payload, summary) = try open(StandardStreams.readInput())
        StandardStreams.note(summary)
        StandardStreams.write(payload)
    }

    func open(_ input: [UInt8]) throws -> (payload: [UInt8], summary: String) {
        let agency = recipient ?? URL(fileURLWithPath: key).deletingLastPathComponent().lastPathComponent
        let pair = try AgencyKeyPair(
            agency: agency, privateKey: try KeyDirectory.loadPrivateKey(key), file: key,
            use: try KeyDirectory.use(of: key))
        let opener = Opener(
            recipient: agency, keyPairs: [pair], trusted: try TrustStore(directory: trust),
            window: TimeInterval(window))
        let text = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let opened = try opener.open(text)
        let summary =
            "type \(opened.type), message \(opened.messageID), from \(opened.sender) to \(opened.recipient), "
            + "issued \(ISO8601DateFormatter().string(from: opened.issuedAt)), signed by \(opened.signingKeyID)"
        return (opened.payload, summary)
    }
}
