import Foundation
import MASHCore

/// Who has signed the information sharing agreement (`Config/signatories.yaml`): each party with the day it
/// signed and, once it has given notice, the day its withdrawal takes effect. The coordinator discloses only to
/// a party that has signed and not left ("data never goes to non-signatories").
public struct Signatories: Sendable, Equatable {
    public struct Party: Sendable, Equatable {
        public var id: String
        public var signed: LocalDate
        public var withdraws: LocalDate?

        public init(id: String, signed: LocalDate, withdraws: LocalDate? = nil) {
            self.id = id
            self.signed = signed
            self.withdraws = withdraws
        }
    }

    /// Where a party stands on a given day.
    public enum Standing: Sendable, Equatable {
        case signed
        case notSigned
        case signsOn(LocalDate)
        case left(LocalDate)

        public var maySeeData: Bool { self == .signed }
    }

    public var parties: [String: Party]

    public init(_ parties: [Party]) {
        self.parties = Dictionary(parties.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    }

    public static func load(file: String) throws -> Signatories {
        try Signatories(top: try ConfigMapping.load(file: file))
    }

    public init(yaml: String, file: String) throws {
        try self.init(top: try ConfigMapping.document(yaml: yaml, file: file))
    }

    init(top: ConfigMapping) throws {
        var top = top
        var map = try top.mapping("parties")
        var parties: [Party] = []
        for id in map.keys {
            guard PartyName.isValid(id) else {
                throw map.error(id, "is not a party id (lower-case letters, digits and '-')")
            }
            var entry = try map.mapping(id)
            func date(_ key: String) throws -> LocalDate? {
                guard let text = try entry.optionalString(key) else { return nil }
                guard let date = LocalDate(text) else { throw entry.error(key, "'\(text)' is not YYYY-MM-DD") }
                return date
            }
            guard let signed = try date("signed") else { throw entry.error("signed", "is required (YYYY-MM-DD)") }
            let withdraws = try date("withdraws")
            if let withdraws, withdraws <= signed {
                throw entry.error("withdraws", "is not after the day it signed (\(signed))")
            }
            try entry.finish()
            parties.append(Party(id: id, signed: signed, withdraws: withdraws))
        }
        try map.finish()
        try top.finish()
        self.init(parties)
    }

    /// Where `party` stands on `day` (the hub's local day): a withdrawal takes effect at the start of its day.
    public func standing(of party: String, on day: LocalDate) -> Standing {
        guard let entry = parties[party] else { return .notSigned }
        if day < entry.signed { return .signsOn(entry.signed) }
        if let withdraws = entry.withdraws, withdraws <= day { return .left(withdraws) }
        return .signed
    }

    /// Why nothing may be disclosed to `party` on `day`, or nil when it may be.
    public func refusal(of party: String, on day: LocalDate) -> String? {
        switch standing(of: party, on: day) {
        case .signed: nil
        case .notSigned: "'\(party)' has not signed the information sharing agreement (not in signatories.yaml)"
        case .signsOn(let date): "'\(party)' signs the information sharing agreement only on \(date)"
        case .left(let date): "'\(party)' withdrew from the information sharing agreement on \(date)"
        }
    }

    /// Parties whose withdrawal takes effect from `day` to `days` days after it, soonest first.
    public func withdrawing(from day: LocalDate, within days: Int) -> [(party: String, on: LocalDate)] {
        let last = LocalDate(daysSinceEpoch: day.daysSinceEpoch + days)
        return parties.values.compactMap { party in
            guard let on = party.withdraws, day <= on, on <= last else { return nil }
            return (party.id, on)
        }.sorted { ($0.on, $0.party) < ($1.on, $1.party) }
    }
}
