import Foundation
import MASHConfig
import MASHTesting
import Testing

@Suite("Staff: who may ask the coordinator, with which roles")
struct StaffTests {
    @Test("the shipped file names one member per role, each with a key make run can make")
    func shipped() throws {
        let staff = try StaffRegister.load(file: Repository.root + "/Config/staff.yaml")
        #expect(staff.members.count == 4)
        for role in StaffRole.allCases {
            #expect(staff.members.values.contains { $0.roles == [role] }, "one member is \(role.rawValue)")
        }
        #expect(staff.members.keys.allSatisfy(StaffRegister.isValidID))
        #expect(staff["j.smith"]?.name == "Jo Smith")
    }

    @Test("each role may do what the README's table says, and nothing else")
    func roles() {
        let member = { (roles: Set<StaffRole>) in StaffRegister.Member(id: "a.b", name: "A B", roles: roles) }
        #expect(member([.operator]).may(.replayDeadLetters))
        #expect(!member([.operator]).may(.subjectAccess))
        #expect(!member([.operator]).may(.viewEnquiries))
        #expect(!member([.operator]).may(.manageBreaches))
        #expect(member([.auditor]).may(.subjectAccess) && member([.auditor]).may(.viewEnquiries))
        #expect(!member([.auditor]).may(.subjectRights) && !member([.auditor]).may(.reportBreach))
        #expect(member([.dpo]).may(.subjectRights) && !member([.dpo]).may(.replayDeadLetters))
        #expect(member([.practiceManager]).may(.manageBreaches) && !member([.practiceManager]).may(.subjectRights))
        #expect(member([]).roles.isEmpty && !StaffPermission.allCases.contains { member([]).may($0) })
        #expect(member([.operator, .dpo]).may(.replayDeadLetters) && member([.operator, .dpo]).may(.subjectRights))
        #expect(StaffPermission.subjectAccess.roles == [.dpo, .auditor])
    }

    @Test("errors name the file, line and key; a party's name is not a staff id")
    func errors() throws {
        func error(_ yaml: String) -> String? {
            do {
                _ = try StaffRegister(yaml: yaml, file: "staff.yaml")
                return nil
            } catch {
                return "\(error)"
            }
        }
        #expect(error("staff:\n  j.smith: {name: Jo Smith, roles: [operator]}\n") == nil)
        #expect(error("staff:\n  police: {name: P, roles: [operator]}\n")?.contains("staff.yaml:2") == true)
        #expect(error("staff:\n  police: {name: P, roles: [operator]}\n")?.contains("is not a staff id") == true)
        #expect(
            error("staff:\n  j.smith: {name: Jo Smith, roles: [admin]}\n")
                == "staff.yaml:2: 'staff.j.smith.roles': 'admin' is not a role (operator, practice-manager, dpo, auditor)"
        )
        #expect(error("staff:\n  j.smith: {roles: [dpo]}\n")?.contains("'staff.j.smith.name'") == true)
        #expect(error("staff:\n  j.smith: {name: J, roles: [dpo], password: x}\n")?.contains("password") == true)
        #expect(!StaffRegister.isValidID("j..smith") && !StaffRegister.isValidID(".smith"))
        #expect(!StaffRegister.isValidID("J.Smith") && StaffRegister.isValidID("j.smith-2"))
    }
}
