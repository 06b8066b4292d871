import Foundation
import MASHCore

/// `Config/routing.yaml`: which agencies an enquiry goes to, what each may be sent, and the SLA clocks.
public struct RoutingConfiguration: Sendable {
    public struct Agency: Sendable, Equatable {
        public var id: String
        /// The package waits for every mandatory agency; optional ones are cancelled when the mandatory ones
        /// have answered.
        public var mandatory: Bool
        /// The subject and household fields this agency may receive (data minimisation).
        public var personFields: Set<Person.Field>
        public var receivesHousehold: Bool
        public var receivesReason: Bool
    }

    public var agencies: [String: Agency]
    public var defaults: [RAG: [String]]
    /// Agencies allowed to send enquiries to the intake queue (the SPA).
    public var intakeSenders: Set<String>
    public var purpose: String
    public var policy: SLAPolicy
    /// How often a breached request is chased until it is answered.
    public var chaseEvery: TimeInterval
    /// How long a recipient has to confirm a correction before it is sent again (and again after as long).
    public var chaseCorrectionsEvery: TimeInterval = 86400
    /// The police and school flows (DANs, Operation Encompass, roll feeds).
    public var notifications = NotificationRouting()
    /// Missing from home and care (missing and found reports, return interviews, placing authorities).
    public var missing = MissingRouting()
    /// The front door (professionals' contacts and the SPA's screening).
    public var frontDoor = FrontDoorRouting()
    /// The MASH's meetings (huddles, MASH meetings, the Midwifery meeting).
    public var meetings = MeetingRouting()
    /// Challenges to a decision: the dispute route to the First Response Area Manager.
    public var challenges = ChallengeRouting()

    public static func load(file path: String) throws -> RoutingConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, line: nil, key: "", problem: "cannot read the file")
        }
        return try RoutingConfiguration(yaml: String(decoding: data, as: UTF8.self), file: path)
    }

    public init(yaml: String, file: String) throws {
        var top = try ConfigMapping.document(yaml: yaml, file: file)
        purpose = try top.string("purpose")
        intakeSenders = Set(try top.strings("intakeSenders"))
        var agencyMap = try top.mapping("agencies")
        var agencies: [String: Agency] = [:]
        for id in agencyMap.keys {
            var entry = try agencyMap.mapping(id)
            let mandatory = try entry.optionalBool("mandatory") ?? true
            let received = try entry.receivedFields("receives")
            try entry.finish()
            agencies[id] = Agency(
                id: id, mandatory: mandatory, personFields: received.person, receivesHousehold: received.household,
                receivesReason: received.reason)
        }
        try agencyMap.finish()
        self.agencies = agencies
        var defaultsMap = try top.mapping("defaults")
        var defaults: [RAG: [String]] = [:]
        for rag in RAG.allCases {
            let list = try defaultsMap.strings(rag.rawValue)
            for (index, agency) in list.enumerated() where agencies[agency] == nil {
                throw defaultsMap.error("\(rag.rawValue)[\(index)]", "'\(agency)' is not one of the agencies above")
            }
            defaults[rag] = list
        }
        try defaultsMap.finish()
        self.defaults = defaults

        if var sla = try top.optionalMapping("sla") {
            var partners = SLAPolicy.mashDefault.partners
            var decision = SLAPolicy.mashDefault.decision
            for rag in RAG.allCases {
                guard var clocks = try sla.optionalMapping(rag.rawValue) else { continue }
                if let text = try clocks.optionalString("partners") {
                    partners[rag] = try clocks.clock(text, key: "partners")
                }
                if let text = try clocks.optionalString("decision") {
                    decision[rag] = try clocks.clock(text, key: "decision")
                }
                try clocks.finish()
            }
            let fraction = try sla.optionalDouble("warningAt") ?? 0.75
            guard fraction > 0, fraction < 1 else {
                throw sla.error("warningAt", "must be between 0 and 1 (0.75 warns at 75 % of the allowed time)")
            }
            policy = SLAPolicy(partners: partners, decision: decision, warningFraction: fraction)
            chaseEvery = try sla.optionalString("chaseEvery").map { try sla.duration($0, key: "chaseEvery") } ?? 3600
            if let text = try sla.optionalString("chaseCorrectionsEvery") {
                chaseCorrectionsEvery = try sla.duration(text, key: "chaseCorrectionsEvery")
            }
            try sla.finish()
        } else {
            policy = .mashDefault
            chaseEvery = 3600
        }
        if var section = try top.optionalMapping("notifications") { notifications = try NotificationRouting(&section) }
        if var section = try top.optionalMapping("missing") { missing = try MissingRouting(&section) }
        if var section = try top.optionalMapping("frontDoor") { frontDoor = try FrontDoorRouting(&section) }
        if var section = try top.optionalMapping("meetings") { meetings = try MeetingRouting(&section) }
        if var section = try top.optionalMapping("challenges") { challenges = try ChallengeRouting(&section) }
        try top.finish()
    }

    /// The agencies an enquiry goes to, or why the hub refuses it: an agency not configured here, or consent
    /// (or an override) that does not cover the agencies asked. The coordinator's intake and `mashctl enquiry
    /// open --check` ask this same question, so a check that passes is not refused at the hub.
    public func admit(_ enquiry: Enquiry) -> Result<[Agency], ConsentGate.Refusal> {
        do {
            let agencies = try agencies(for: enquiry)
            try ConsentGate.check(enquiry.consent, agencies: agencies.map(\.id))
            return .success(agencies)
        } catch let refusal as ConsentGate.Refusal {
            return .failure(refusal)
        } catch {
            return .failure(ConsentGate.Refusal(reason: (error as? DocumentError)?.problem ?? "\(error)"))
        }
    }

    /// The agencies an enquiry goes to: its own list, or the defaults for its RAG rating. Unknown agencies are
    /// an error naming them.
    public func agencies(for enquiry: Enquiry) throws -> [Agency] {
        let ids = enquiry.agencies.isEmpty ? defaults[enquiry.rag] ?? [] : enquiry.agencies
        let unknown = ids.filter { agencies[$0] == nil }
        guard unknown.isEmpty else {
            throw DocumentError(
                source: "enquiry \(enquiry.id)", field: "agencies",
                problem: "\(unknown.joined(separator: ", ")) not configured in routing.yaml")
        }
        var seen: Set<String> = []
        return ids.filter { seen.insert($0).inserted }.map { agencies[$0]! }
    }
}
