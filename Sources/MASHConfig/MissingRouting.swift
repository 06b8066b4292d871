import Foundation
import MASHCore

/// The `missing` section of routing.yaml: who sends missing and found reports, whose desk reviews them and
/// records the return interviews, the interview's clock, the placing authorities the hub reaches (each through
/// a shovel to its own broker), and the Missing and Exploitation Panel's thresholds.
public struct MissingRouting: Sendable {
    /// May send `mash.missing-report/1` and `mash.found-report/1`.
    public var senders: Set<String> = ["police"]
    /// The Missing and Exploitation Co-ordinator's party: the daily review, the interviews, the clock's alerts.
    public var coordinator = "missing-coordinator"
    /// From `foundAt`, wall clock (DfE statutory guidance: 72 hours).
    public var interviewWithin: TimeInterval = 72 * 3600
    /// How often a placing authority is asked again for its return interview, from when the clock runs out.
    public var chaseAuthoritiesEvery: TimeInterval = 24 * 3600
    /// The placing authorities the hub reaches (`la-<code>`); each has an outbound queue shovelled to its broker.
    public var authorities: [String] = []
    public var panel = PanelRule()

    public init() {}

    init(_ mapping: inout ConfigMapping) throws {
        senders = Set(try mapping.optionalStrings("senders") ?? Array(senders))
        coordinator = try mapping.optionalString("coordinator") ?? coordinator
        if let text = try mapping.optionalString("interviewWithin") {
            interviewWithin = try mapping.duration(text, key: "interviewWithin")
        }
        if let text = try mapping.optionalString("chaseAuthoritiesEvery") {
            chaseAuthoritiesEvery = try mapping.duration(text, key: "chaseAuthoritiesEvery")
        }
        authorities = try mapping.optionalStrings("authorities") ?? []
        for (index, name) in authorities.enumerated() where !AuthorityName.isValid(name) {
            throw mapping.error(
                "authorities[\(index)]", "'\(name)' must be 'la-' and the authority's code in lower case (la-kent)")
        }
        if var panel = try mapping.optionalMapping("panel") {
            let episodes = try panel.optionalInt("episodes") ?? 3
            guard episodes >= 1 else { throw panel.error("episodes", "must be 1 or more") }
            let within = try panel.optionalString("within").map { try panel.duration($0, key: "within") } ?? 90 * 86400
            try panel.finish()
            self.panel = PanelRule(episodes: episodes, within: within)
        }
        try mapping.finish()
    }

    /// The queue on the hub's broker that holds what goes to `authority` until its shovel moves it across.
    public static func outboundQueue(_ authority: String) -> String { "authority.\(authority).outbound" }
}
