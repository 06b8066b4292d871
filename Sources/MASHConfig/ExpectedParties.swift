import Foundation

/// The parties the hub expects to hear from: every agency in `routing.yaml` (its adapter) and every desk of
/// `Config/desks`. Each sends a heartbeat; one never heard from is a finding (`mashctl status`) and a metric
/// (`mash_party_never_heard`), since a party that was never started sends nothing to notice.
public struct ExpectedParty: Sendable, Equatable, Hashable, Encodable {
    public enum Kind: String, Sendable, Encodable {
        case agency
        case desk
    }

    public var party: String
    public var kind: Kind

    public init(_ party: String, _ kind: Kind) {
        self.party = party
        self.kind = kind
    }

    /// The routed agencies and the `party` of each `<desks>/*.yaml` (a missing folder is no desks); sorted.
    public static func load(routing: RoutingConfiguration, desksDirectory: String) throws -> [ExpectedParty] {
        var parties = routing.agencies.keys.map { ExpectedParty($0, .agency) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: desksDirectory)) ?? []
        for name in names.sorted() where name.hasSuffix(".yaml") {
            var top = try ConfigMapping.load(file: (desksDirectory as NSString).appendingPathComponent(name))
            parties.append(ExpectedParty(try top.string("party"), .desk))
        }
        return parties.sorted { ($0.party, $0.kind.rawValue) < ($1.party, $1.kind.rawValue) }
    }
}
