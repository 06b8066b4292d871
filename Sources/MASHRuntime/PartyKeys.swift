import Foundation
import MASHCore
import Sealing
import Synchronization

/// A party's keys as a client of the hub (an adapter, a desk): its own key pairs to sign with and open what the
/// hub sealed to it, only the hub's keys trusted, the hub's newest public key to seal to, and the data-at-rest key
/// (`<keys>/<party>/data-at-rest.key`, made on first use) for what it stores.
public struct PartyKeys: Sendable {
    public let party: String
    public let sealer: Sealer
    public let opener: Opener
    public let hubKey: AgencyPublicKey
    public let dataKeyring: DataKeyring
    private let revocations: RevocationWatch

    public init(party: String, hub: String, keysDirectory: String) throws {
        self.party = party
        let pairs = try KeyDirectory.keyPairs(agency: party, in: keysDirectory)
        sealer = Sealer(sender: try pairs.signingPair())
        hubKey = try KeyDirectory.newestPublicKey(agency: hub, in: keysDirectory)
        // Only the hub's keys are trusted: a message signed by anyone else is refused.
        let hubFolder = (keysDirectory as NSString).appendingPathComponent(hub)
        let revoked = try KeyRevocations.load(directory: keysDirectory)
        opener = Opener(
            recipient: party, keyPairs: pairs, trusted: try TrustStore(directory: hubFolder, revocations: revoked),
            window: 72 * 3600)
        revocations = RevocationWatch(directory: keysDirectory, opener: opener)
        dataKeyring = try DataKeyring.loadOrCreate(
            at: (keysDirectory as NSString).appendingPathComponent("\(party)/data-at-rest.key"))
    }

    /// The opener with the revocation list as it is on disk now: one `stat` per call, the list read again only
    /// when the file changed, so a hub key revoked is refused from the next batch without a restart.
    public func currentOpener() -> Opener { revocations.opener() }

    /// A document sealed to the hub, signed by this party, as an outbox message with a fresh message id and the
    /// `x-mash-sender` header.
    public func sealed(
        _ payload: [UInt8], type: DocumentType, exchange: String, routingKey: String, headers: [String: String],
        now: Date
    ) throws -> OutboxMessage {
        let id = UUID().uuidString.lowercased()
        let body = try sealer.seal(payload, type: type.rawValue, messageID: id, to: hubKey, issuedAt: now)
        var allHeaders = headers
        allHeaders["x-mash-sender"] = party
        return OutboxMessage(
            messageID: id, exchange: exchange, routingKey: routingKey, type: type.rawValue, headers: allHeaders,
            body: Array(body.utf8))
    }
}

/// Keeps an opener's revocation list in step with `<keys>/revocations.json`.
final class RevocationWatch: Sendable {
    let directory: String
    private let state: Mutex<(stamp: Date?, opener: Opener)>

    init(directory: String, opener: Opener) {
        self.directory = directory
        state = Mutex((Self.stamp(directory), opener))
    }

    static func stamp(_ directory: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: KeyRevocations.file(in: directory)))?[.modificationDate]
            as? Date
    }

    func opener() -> Opener {
        let now = Self.stamp(directory)
        return state.withLock { state in
            guard now != state.stamp else { return state.opener }
            // A list that cannot be read keeps the one in hand (never fewer revocations than before).
            guard let list = try? KeyRevocations.load(directory: directory) else { return state.opener }
            state.stamp = now
            state.opener.trusted.revocations = list
            return state.opener
        }
    }
}
