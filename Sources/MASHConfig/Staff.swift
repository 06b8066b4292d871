import Foundation
import MASHCore

/// The hub's staff who may ask the coordinator to change something or show them content (`Config/staff.yaml`):
/// each acts as themselves, with a key pair of their own (`<keys>/<staff-id>/`) that signs their requests, and
/// the roles they hold. The coordinator checks the signer, not a name typed on a command line.
public struct StaffRegister: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var id: String
        public var name: String
        public var roles: Set<StaffRole>

        public init(id: String, name: String, roles: Set<StaffRole>) {
            self.id = id
            self.name = name
            self.roles = roles
        }

        public func may(_ permission: StaffPermission) -> Bool {
            roles.contains { $0.permissions.contains(permission) }
        }
    }

    public var members: [String: Member]

    public init(_ members: [Member]) {
        self.members = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
    }

    public subscript(id: String) -> Member? { members[id] }

    /// A staff id is `initial.surname` style: lower-case letters, digits and '-', with at least one '.', which no
    /// party name has, so a staff member's key folder can never be taken for a party's.
    public static func isValidID(_ text: String) -> Bool {
        text.contains(".") && !text.hasPrefix(".") && !text.hasSuffix(".") && !text.contains("..")
            && text.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == ".") }
    }

    public static func load(file: String) throws -> StaffRegister {
        try StaffRegister(top: try ConfigMapping.load(file: file))
    }

    public init(yaml: String, file: String) throws {
        try self.init(top: try ConfigMapping.document(yaml: yaml, file: file))
    }

    init(top: ConfigMapping) throws {
        var top = top
        var map = try top.mapping("staff")
        var members: [Member] = []
        for id in map.keys {
            guard Self.isValidID(id) else {
                throw map.error(
                    id, "is not a staff id (lower-case letters, digits, '-' and at least one '.', e.g. j.smith)")
            }
            var entry = try map.mapping(id)
            let name = try entry.string("name")
            var roles: Set<StaffRole> = []
            for text in try entry.strings("roles") {
                guard let role = StaffRole(rawValue: text) else {
                    throw entry.error(
                        "roles",
                        "'\(text)' is not a role (\(StaffRole.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                roles.insert(role)
            }
            try entry.finish()
            members.append(Member(id: id, name: name, roles: roles))
        }
        try map.finish()
        try top.finish()
        self.init(members)
    }
}

/// What a staff member does at the hub; each role is a fixed set of `StaffPermission`s (README, "Staff").
public enum StaffRole: String, Sendable, CaseIterable, Comparable {
    /// Runs the hub: dead letters, the open-case register, reporting a breach.
    case `operator`
    /// Oversees the MASH's work: reads enquiries' packages, reports and manages breaches.
    case practiceManager = "practice-manager"
    /// The data protection officer: data subjects' rights, breaches, reading content for both.
    case dpo
    /// Checks the record of sharing and what people viewed; reads, changes nothing.
    case auditor

    public var permissions: Set<StaffPermission> {
        switch self {
        case .operator: [.replayDeadLetters, .importOpenCases, .viewDeadLetters, .reportBreach, .sendMeetingLists]
        case .practiceManager: [.viewEnquiries, .reportBreach, .manageBreaches, .sendMeetingLists]
        case .dpo:
            [.subjectAccess, .subjectRights, .reportBreach, .manageBreaches, .viewEnquiries, .viewDeadLetters]
        case .auditor: [.subjectAccess, .viewEnquiries]
        }
    }

    public static func < (lhs: StaffRole, rhs: StaffRole) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a signed staff request may ask of the coordinator.
public enum StaffPermission: String, Sendable, CaseIterable {
    case replayDeadLetters = "replay dead letters"
    case importOpenCases = "import the open-case register"
    case viewDeadLetters = "view dead letters"
    case viewEnquiries = "view an enquiry's content"
    case subjectAccess = "search disclosures about a person"
    case subjectRights = "restrict, correct or erase a person's data"
    case reportBreach = "report a breach"
    case manageBreaches = "update or close a breach"
    case sendMeetingLists = "send a meeting's list to the Practice Manager now"

    /// The roles that hold it, for a refusal that tells who may.
    public var roles: [StaffRole] { StaffRole.allCases.filter { $0.permissions.contains(self) } }
}
