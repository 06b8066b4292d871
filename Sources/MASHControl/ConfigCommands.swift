import ArgumentParser
import Foundation
import MASHAgency
import MASHConfig

/// `mashctl config`: check configuration files before a service is started with them.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check configuration files.",
        subcommands: [Validate.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check agency, desk and routing configurations exactly as the services do at start.",
            discussion: """
                An agency file (it has an 'agency' key) is checked as mash-adapter checks it: every key known, \
                every value well formed, its keys and its extract present, the extract holding every configured \
                column, and a lawful basis for every data category it may disclose. A desk file (it has 'party') is \
                checked as mash-desk checks it: its keys, its TLS files, the types it shows and the actions it \
                allows, its staff. A routing file (it has 'agencies') is checked as mash-coordinator checks it. A \
                retention schedule (it has 'records') is checked as every service checks it: every kind of record \
                with a period, an event it may be counted from, and a reason. The signatories (it has 'parties') are \
                checked as mash-coordinator checks them: each party's signing day, and a withdrawal after it. The staff \
                (it has 'staff') are checked as mash-coordinator checks them: each id, name and role. \
                Errors name the file, line and key.

                Examples:
                  mashctl config validate Config/agencies/police.yaml
                  mashctl config validate Config/routing.yaml Config/agencies/*.yaml
                  mashctl config validate /etc/mash/desks/school-990001.yaml
                  mashctl config validate Config/retention.yaml Config/signatories.yaml
                """)

        @Argument(help: "Configuration files.")
        var files: [String]

        func run() throws {
            var failed = 0
            for file in files {
                do {
                    let top = try ConfigMapping.load(file: file)
                    if top.has("agency") {
                        let adapter = try AdapterConfiguration.load(file: file)
                        print("\(file): ok (agency \(adapter.agency), \(adapter.backendSummary))")
                    } else if top.has("party") {
                        let desk = try DeskConfiguration.load(file: file)
                        print(
                            "\(file): ok (desk \(desk.party), \(desk.staff.count) staff, shows "
                                + desk.shows.map(\.rawValue).joined(separator: ", ") + ")")
                    } else if top.has("agencies") {
                        let routing = try RoutingConfiguration.load(file: file)
                        print("\(file): ok (routing for \(routing.agencies.count) agencies)")
                    } else if top.has("records") {
                        let schedule = try RetentionSchedule.load(file: file)
                        print(
                            "\(file): ok (retention of \(schedule.rules.count) kinds of record, "
                                + (schedule.approval.map { "approved by \($0)" } ?? "PLACEHOLDER periods, not approved")
                                + ")")
                    } else if top.has("parties") {
                        let signatories = try Signatories.load(file: file)
                        let leaving = signatories.parties.values.filter { $0.withdraws != nil }.count
                        print(
                            "\(file): ok (\(signatories.parties.count) signatories, \(leaving) with a withdrawal date)")
                    } else if top.has("staff") {
                        let staff = try StaffRegister.load(file: file)
                        let roles = StaffRole.allCases.map { role in
                            "\(staff.members.values.filter { $0.roles.contains(role) }.count) \(role.rawValue)"
                        }
                        print("\(file): ok (\(staff.members.count) staff: \(roles.joined(separator: ", ")))")
                    } else {
                        throw ConfigurationError(
                            file: file, line: nil, key: "",
                            problem:
                                "not an agency configuration ('agency:'), a desk ('party:'), routing ('agencies:'), a retention schedule ('records:'), the signatories ('parties:') or the staff ('staff:')"
                        )
                    }
                } catch {
                    StandardStreams.note("\(error)")
                    failed += 1
                }
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
