import ArgumentParser
import Foundation
import Sealing

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate and inspect agency keys (P-256: ES256 signatures, ECDH-ES+A256KW encryption).",
        discussion: """
            Keys live in a key directory, one folder per agency:
              <dir>/<agency>/<created>-<kid>.pem   private key (PKCS #8 PEM, mode 0600: keep it secret)
              <dir>/<agency>/<created>-<kid>.jwk   public key (JWK) to give to the hub or partners
            The kid is the key's RFC 7638 thumbprint. New messages use an agency's newest key; older keys keep \
            opening messages sealed to them, so rotation is: generate, distribute the new .jwk, then retire \
            the old .pem once nothing is sealed to it.
            """,
        subcommands: [Generate.self, Show.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a new key pair for an agency.",
            discussion: "Example:\n  mashctl keys generate --agency police --out Config/keys"
        )

        @Option(help: "The agency id: lower-case letters, digits and '-' (police, health, turning-point, ...).")
        var agency: String

        @Option(help: "The key directory; the agency's folder is made inside it (mode 0700).")
        var out: String

        func run() throws {
            let pair = try KeyDirectory.generate(agency: agency, in: out)
            let pem = pair.file ?? ""
            print("agency:      \(pair.agency)")
            print("kid:         \(pair.kid)")
            print("private key: \(pem)  (mode 0600; never share it)")
            print("public key:  \(pem.dropLast(4)).jwk  (give this to the hub)")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a key file's agency, kid and public JWK. Never prints private key material.",
            discussion: """
                A .pem file's agency is the name of the folder it is in. Example:
                  mashctl keys show Config/keys/police/20261122T101500Z-Xy....pem
                """
        )

        @Argument(help: "A private key (.pem) or public key (.jwk) file.")
        var file: String

        func run() throws {
            print(try Keys.describe(file: file))
        }
    }

    static func describe(file: String) throws -> String {
        let publicKey: AgencyPublicKey
        if file.hasSuffix(".jwk") || file.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure("\(file): cannot read the file")
            }
            publicKey = try AgencyPublicKey.parse(jwk: Array(data), source: file)
        } else {
            let agency = URL(fileURLWithPath: file).deletingLastPathComponent().lastPathComponent
            publicKey = try AgencyKeyPair(
                agency: agency, privateKey: try KeyDirectory.loadPrivateKey(file), file: file
            ).publicKey
        }
        let jwk = String(decoding: publicKey.jwkJSON(), as: UTF8.self)
        return "agency: \(publicKey.agency)\nkid:    \(publicKey.kid)\npublic JWK:\n\(jwk)"
    }
}
