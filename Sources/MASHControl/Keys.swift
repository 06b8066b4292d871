import ArgumentParser
import Foundation
import MASHCore
import Sealing

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate and inspect agency keys (P-256: ES256 signatures, ECDH-ES+A256KW encryption).",
        discussion: """
            Keys live in a key directory, one folder per agency:
              <dir>/<agency>/<created>-<kid>.pem   private key (PKCS #8 PEM, mode 0600: keep it secret)
              <dir>/<agency>/<created>-<kid>.jwk   public key (JWK) to give to the hub or partners
            The kid is the key's RFC 7638 thumbprint. A party has a signing key (JWK use "sig") that signs what \
            it sends and an encryption key (use "enc") that others seal to; a key made before keys were split \
            has no use and does both. New messages use a party's newest key of each kind; older keys keep \
            opening and verifying what was sealed with them, so rotation (and the move from one key to two) is: \
            generate, distribute the new .jwk files, then retire the old .pem once nothing is sealed to it.

            A compromised or withdrawn key is revoked (mashctl keys revoke): it is named in \
            <dir>/revocations.json, which the coordinator, adapters and desks read again when it changes, \
            without a restart. From then on a message signed with it is dead-lettered keyRevoked and nothing \
            new is sealed to it.
            """,
        subcommands: [Generate.self, Show.self, Revoke.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a party's signing and encryption key pairs (a staff member's signing key).",
            discussion: """
                A party (police, school-990001, ...) gets two key pairs: one that signs what it sends (use sig), \
                one that others seal to (use enc). They become its newest keys; a key it already has keeps \
                opening and verifying what was sealed with it until it is retired. A staff member (an id with a \
                '.', Config/staff.yaml) only signs, so gets a signing key.

                Examples:
                  mashctl keys generate --agency police --out Config/keys
                  mashctl keys generate --agency j.smith --out ~/.mash/keys
                """
        )

        @Option(
            help: """
                The party id: lower-case letters, digits and '-' (police, health, turning-point, ...); or a staff \
                id with a '.' (j.smith).
                """)
        var agency: String

        @Option(help: "The key directory; the party's folder is made inside it (mode 0700).")
        var out: String

        func run() throws {
            let pairs: [AgencyKeyPair]
            if agency.contains(".") {
                pairs = [try KeyDirectory.generate(agency: agency, in: out, use: .sig)]
            } else {
                let split = try KeyDirectory.generateSplit(agency: agency, in: out)
                pairs = [split.signing, split.encryption]
            }
            print("agency:      \(agency)")
            for pair in pairs {
                let pem = pair.file ?? ""
                print("")
                print("\(pair.use == .sig ? "signing" : "encryption") key \(pair.kid)")
                print("  private key: \(pem)  (mode 0600; never share it)")
                print("  public key:  \(pem.dropLast(4)).jwk  (give this to the hub)")
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop trusting a party's key at once: its signatures are refused (keyRevoked).",
            discussion: """
                Adds the key to <keys>/revocations.json (replaced whole, in one rename). The coordinator, \
                adapters and desks using that key directory read the list again within a batch, with no \
                restart. Give the party a new key first (mashctl keys generate) if it is to keep exchanging \
                messages: the hub seals to its newest key that is not revoked. Revoking is not undone here; \
                a key revoked in error is replaced by a new one.

                Example:
                  mashctl keys revoke --agency police --kid Xy3... --reason "laptop stolen, ticket INC-4411" \
                    --keys /etc/mash/keys
                """
        )

        @Option(help: "The party whose key it is.")
        var agency: String

        @Option(help: "The key's kid (mashctl keys show prints it); one that starts with - is given as --kid=ID.")
        var kid: String

        @Option(help: "Why it is revoked (recorded in the list; no personal data).")
        var reason: String

        @Option(help: "The key directory the services read.")
        var keys: String = ".build/keys"

        func run() throws {
            print(try revoke(now: Date()))
        }

        func revoke(now: Date) throws -> String {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--reason: say why the key is revoked")
            }
            let held = try KeyDirectory.files(agency: agency, ending: ".jwk", in: keys).compactMap { path in
                FileManager.default.contents(atPath: path).flatMap {
                    try? AgencyPublicKey.parse(jwk: Array($0), source: path)
                }
            }
            guard held.contains(where: { $0.kid == kid }) else {
                let folder = (keys as NSString).appendingPathComponent(agency)
                throw CommandFailure(
                    "\(folder): no key with kid '\(kid)' (its keys: \(held.map(\.kid).joined(separator: ", ")))")
            }
            var list = try KeyRevocations.load(directory: keys)
            if let earlier = list.revocation(of: kid) {
                return
                    "\(agency) key \(kid) was already revoked at \(ISO8601DateFormatter().string(from: earlier.revokedAt))"
            }
            list.add(.init(kid: kid, agency: agency, reason: reason, revokedAt: now))
            try DurableFile.replace(KeyRevocations.file(in: keys), with: try list.encoded())
            let left = held.filter { list.revocation(of: $0.kid) == nil }
            var lines = ["revoked: \(agency) key \(kid) (\(KeyRevocations.file(in: keys)))"]
            if !left.contains(where: { $0.serves(.sig) }) {
                lines.append(
                    "warning: \(agency) has no signing key left that is not revoked; everything it sends is refused "
                        + "until it has a new one")
            }
            if !left.contains(where: { $0.serves(.enc) }) {
                lines.append(
                    "warning: \(agency) has no encryption key left that is not revoked; nothing can be sealed to it "
                        + "until it has a new one")
            }
            if lines.count == 1 {
                lines.append("\(agency) keeps \(left.count) key\(left.count == 1 ? "" : "s") not revoked")
            }
            return lines.joined(separator: "\n")
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
                agency: agency, privateKey: try KeyDirectory.loadPrivateKey(file), file: file,
                use: try KeyDirectory.use(of: file)
            ).publicKey
        }
        let jwk = String(decoding: publicKey.jwkJSON(), as: UTF8.self)
        let use = publicKey.use.map { $0 == .sig ? "signing" : "encryption" } ?? "signing and encryption"
        return "agency: \(publicKey.agency)\nkid:    \(publicKey.kid)\nuse:    \(use)\npublic JWK:\n\(jwk)"
    }
}
