import Foundation

/// The ground an override of consent rests on (Kent & Medway information sharing agreement).
public enum OverrideRationale: String, Sendable, CaseIterable {
    case riskOfSignificantHarm = "risk-of-significant-harm"
    case preventionOrDetectionOfCrime = "prevention-or-detection-of-crime"
}

/// One agency's agreement to share its information without consent.
public struct AgencyAgreement: Sendable, Equatable {
    public var agency: String
    public var agreedBy: String

    public init(agency: String, agreedBy: String) {
        self.agency = agency
        self.agreedBy = agreedBy
    }
}

/// Sharing without consent, recorded: the SPA & MASH Practice Manager and each agency that owns the information
/// agreed, with a rationale.
public struct ConsentOverride: Sendable, Equatable {
    public var practiceManager: String
    public var agencies: [AgencyAgreement]
    public var rationale: OverrideRationale
    public var details: String
    public var agreedAt: Date
    /// Where the rationale is written down (a case note or strategy discussion reference), for the record of
    /// sharing; `details` stays out of it, as it may name people.
    public var reference: String?

    public init(
        practiceManager: String, agencies: [AgencyAgreement], rationale: OverrideRationale, details: String,
        agreedAt: Date, reference: String? = nil
    ) {
        self.practiceManager = practiceManager
        self.agencies = agencies
        self.rationale = rationale
        self.details = details
        self.agreedAt = agreedAt
        self.reference = reference
    }
}

/// The consent position an enquiry arrives with.
public enum Consent: Sendable, Equatable {
    /// Consent given, by whom (a role such as "mother", not a name) and when.
    case given(by: String, at: Date)
    case overridden(ConsentOverride)
    /// Not sought, or refused, with no override: nothing may be shared.
    case notGiven(String)

    public var status: String {
        switch self {
        case .given: "given"
        case .overridden: "overridden"
        case .notGiven: "not-given"
        }
    }
}

/// Whether an enquiry may go to a set of agencies, and why not.
public enum ConsentGate {
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }

        public init(reason: String) { self.reason = reason }
    }

    /// Consent given lets every agency be asked. An override needs the Practice Manager, a rationale with
    /// details, and the agreement of every agency to be asked (each owns its information). Anything else is
    /// refused, and the reason says what is missing.
    public static func check(_ consent: Consent, agencies: [String]) throws(Refusal) {
        switch consent {
        case .given:
            return
        case .notGiven:
            // The SPA's note stays out of the reason: it is free text, and the reason goes to logs.
            throw Refusal(reason: "no consent and no override: nothing may be shared")
        case .overridden(let override):
            guard !override.practiceManager.isEmpty else {
                throw Refusal(
                    reason: "the consent override does not name the SPA & MASH Practice Manager who agreed it")
            }
            guard !override.details.isEmpty else {
                throw Refusal(reason: "the consent override gives no details for its rationale")
            }
            let agreed = Set(override.agencies.filter { !$0.agreedBy.isEmpty }.map(\.agency))
            let missing = agencies.filter { !agreed.contains($0) }
            guard missing.isEmpty else {
                throw Refusal(
                    reason: "the consent override has no agreement from \(missing.joined(separator: ", ")), "
                        + "which own the information to be shared")
            }
        }
    }
}

/// UK GDPR Article 6(1) lawful bases.
public enum Article6Basis: String, Sendable, CaseIterable {
    case consent, contract
    case legalObligation = "legal-obligation"
    case vitalInterests = "vital-interests"
    case publicTask = "public-task"
    case legitimateInterests = "legitimate-interests"

    public var citation: String {
        switch self {
        case .consent: "6(1)(a)"
        case .contract: "6(1)(b)"
        case .legalObligation: "6(1)(c)"
        case .vitalInterests: "6(1)(d)"
        case .publicTask: "6(1)(e)"
        case .legitimateInterests: "6(1)(f)"
        }
    }
}

/// UK GDPR Article 9(2) conditions for special category data (health, for example).
public enum Article9Condition: String, Sendable, CaseIterable {
    case explicitConsent = "explicit-consent"
    case vitalInterests = "vital-interests"
    case substantialPublicInterest = "substantial-public-interest"
    case healthOrSocialCare = "health-or-social-care"

    public var citation: String {
        switch self {
        case .explicitConsent: "9(2)(a)"
        case .vitalInterests: "9(2)(c)"
        case .substantialPublicInterest: "9(2)(g)"
        case .healthOrSocialCare: "9(2)(h)"
        }
    }
}

/// Article 10 conditions for criminal offence data, from the Data Protection Act 2018, Schedule 1.
public enum Article10Condition: String, Sendable, CaseIterable {
    case safeguardingChildren = "safeguarding-children"
    case preventingOrDetectingUnlawfulActs = "preventing-or-detecting-unlawful-acts"
    case statutoryPurposes = "statutory-purposes"

    public var citation: String {
        switch self {
        case .safeguardingChildren: "DPA 2018 Sch 1 para 18"
        case .preventingOrDetectingUnlawfulActs: "DPA 2018 Sch 1 para 10"
        case .statutoryPurposes: "DPA 2018 Sch 1 para 6"
        }
    }
}

/// What kind of personal data a disclosure holds; the kind decides which conditions it needs.
public enum DataCategory: String, Sendable, CaseIterable, Comparable {
    case personal
    case specialCategory = "special-category"
    case criminalOffence = "criminal-offence"

    public static func < (a: DataCategory, b: DataCategory) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// The lawful basis a disclosure names: always an Article 6 basis, plus an Article 9 condition when it holds
/// special category data and an Article 10 condition when it holds criminal offence data.
public struct LawfulBasis: Sendable, Equatable, CustomStringConvertible {
    public var article6: Article6Basis
    public var article9: Article9Condition?
    public var article10: Article10Condition?

    public init(article6: Article6Basis, article9: Article9Condition? = nil, article10: Article10Condition? = nil) {
        self.article6 = article6
        self.article9 = article9
        self.article10 = article10
    }

    /// Checks the basis covers `categories`; the error says which condition is missing.
    public func check(covers categories: Set<DataCategory>) throws(ConsentGate.Refusal) {
        if categories.contains(.specialCategory), article9 == nil {
            throw ConsentGate.Refusal(
                reason: "special category data needs an Article 9 condition (lawfulBasis.article9)")
        }
        if categories.contains(.criminalOffence), article10 == nil {
            throw ConsentGate.Refusal(
                reason: "criminal offence data needs an Article 10 condition (lawfulBasis.article10)")
        }
    }

    /// For example `6(1)(e); 9(2)(g); DPA 2018 Sch 1 para 18`.
    public var description: String {
        [article6.citation, article9?.citation, article10?.citation].compactMap { $0 }.joined(separator: "; ")
    }
}
