import ArgumentParser
import Foundation
import MASHCore
import MASHReadModel

/// `mashctl breach`: a personal data breach, from discovery to the ICO report.
struct BreachCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breach",
        abstract: "Open, update and close a personal data breach; the hub tells every affected party at once.",
        discussion: """
            The information sharing agreement: the party that discovers a breach "must immediately inform the \
            other organisations involved", and a reportable breach goes to the Information Commissioner within \
            72 hours of becoming aware of it. `breach open` works out from the record of sharing which parties \
            sent or received the disclosures in scope and how many people they are about, and sends each party \
            a sealed mash.breach-notice/1 naming its own messages and cases by id (nothing else). The 72-hour \
            clock runs from --discovered-at on the wall clock (not working hours): the Practice Manager and the \
            DPO are alerted at 24 and 4 hours left and when it passes, and `mashctl status` shows it until \
            `breach close`. --summary and --note go to partners: write no personal data in them.
            """,
        subcommands: [Open.self, Update.self, Close.self, List.self])

    /// Who acts (a staff member, signing with their own key), where the broker and the store are.
    struct Acting: ParsableArguments {
        @OptionGroup var staff: StaffOptions
        @OptionGroup var hub: HubOptions

        func validate() throws { _ = try staff.id() }

        /// Refuses at once, from the store, to update or close a breach that is not open (the coordinator would
        /// refuse it too, but only to its dead-letter queue).
        func requireOpen(_ id: String) throws {
            guard let breach = try hub.storeOption.open().breaches().first(where: { $0.id == id }) else {
                throw CommandFailure("no breach \(id) (mashctl breach list)")
            }
            guard breach.isOpen else { throw CommandFailure("breach \(id) is already closed") }
        }

        func send(_ report: BreachReport) async throws -> OperatorAction {
            try await staff.request(
                report.json, type: .breachReport, what: "breach \(report.action.rawValue)", hub: hub)
        }

        func report(
            _ action: BreachReport.Action, id: String, summary: String? = nil, discoveredAt: Date? = nil,
            scope: BreachReport.Scope? = nil, note: String? = nil, icoReference: String? = nil
        ) throws -> BreachReport {
            let now = Date()
            return BreachReport(
                action: action, breachID: id, requestedBy: try staff.id(), summary: summary, discoveredAt: discoveredAt,
                scope: scope, note: note, icoReference: icoReference, at: now,
                expiresAt: now.addingTimeInterval(StaffOptions.recordWindow))
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open a breach and tell every affected party now.",
            discussion: """
                Scope (at least one; several narrow each other): --parties (disclosures to or from them), \
                --enquiries (about those cases: enquiries, DANs, rolls), --from/--to (a time range).

                Examples:
                  mashctl breach open --summary "Laptop with a desk export lost on a train" \\
                      --discovered-at 2026-11-29T08:30:00Z --parties csc --from 2026-11-01T00:00:00Z --staff d.khan
                  mashctl breach open --summary "Package e-mailed to the wrong team" \\
                      --discovered-at 2026-11-29T14:05:00Z --enquiries 3f2a…,7b91… --staff a.ahmed
                """)
        @Option(help: "What happened, for the partners: no personal data.")
        var summary: String
        @Option(help: "When the hub became aware of it (ISO 8601 with Z or an offset): the 72 hours start here.")
        var discoveredAt: String
        @Option(help: "Parties whose disclosures (sent or received) may be exposed, comma-separated.")
        var parties: String?
        @Option(help: "Case ids whose disclosures may be exposed, comma-separated.")
        var enquiries: String?
        @Option(help: "Disclosures from this time (ISO 8601).")
        var from: String?
        @Option(help: "Disclosures before this time (ISO 8601).")
        var to: String?
        @OptionGroup var acting: Acting

        func run() async throws {
            func list(_ text: String?) -> [String] {
                (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    !$0.isEmpty
                }
            }
            let scope = BreachReport.Scope(
                parties: list(parties), enquiries: list(enquiries),
                from: try from.map { try Instant.option($0, "--from") },
                to: try to.map { try Instant.option($0, "--to") })
            guard !scope.isEmpty else { throw ValidationError("give the scope: --parties, --enquiries or --from/--to") }
            let id = UUID().uuidString.lowercased()
            let discovered = try Instant.option(discoveredAt, "--discovered-at")
            guard discovered <= Date().addingTimeInterval(300) else {
                throw ValidationError("--discovered-at '\(discoveredAt)' is in the future")
            }
            let action = try await acting.send(
                try acting.report(.open, id: id, summary: summary, discoveredAt: discovered, scope: scope))
            print("breach \(id) opened: \(action.summary)")
            print("report to the ICO by \(Format.clock(discovered.addingTimeInterval(BreachReport.reportWithin)))")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a note to an open breach (what was found, what was done).",
            discussion: "Example:\n  mashctl breach update --id 3f2a… --note \"Laptop recovered, disk encrypted\"")
        @Option(help: "The breach id `breach open` printed.")
        var id: String
        @Option(help: "What is new (no personal data).")
        var note: String
        @OptionGroup var acting: Acting

        func run() async throws {
            try acting.requireOpen(id)
            _ = try await acting.send(try acting.report(.update, id: id, note: note))
            print("breach \(id) updated")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close a breach: reported to the ICO (its reference), or not reportable (why).",
            discussion: """
                Examples:
                  mashctl breach close --id 3f2a… --ico-reference ICO-00123456
                  mashctl breach close --id 3f2a… --not-reportable --reason "encrypted device, recovered unopened"
                """)
        @Option(help: "The breach id.")
        var id: String
        @Option(help: "The ICO's case reference.")
        var icoReference: String?
        @Flag(help: "It was assessed as not reportable to the ICO (give --reason).")
        var notReportable = false
        @Option(help: "Why it is not reportable.")
        var reason: String?
        @OptionGroup var acting: Acting

        func validate() throws {
            if notReportable {
                guard icoReference == nil, let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--not-reportable needs --reason, and no --ico-reference")
                }
            } else {
                guard let icoReference, !icoReference.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("give --ico-reference, or --not-reportable with --reason")
                }
            }
        }

        func run() async throws {
            try acting.requireOpen(id)
            _ = try await acting.send(
                try acting.report(.close, id: id, note: notReportable ? reason : nil, icoReference: icoReference))
            print("breach \(id) closed")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List breaches, open ones first.")
        @OptionGroup var store: StoreOption
        @Flag(help: "Only open breaches.")
        var open = false
        @Flag(help: "JSON instead of the table.")
        var json = false

        func run() throws {
            let breaches = try store.open().breaches(openOnly: open)
            if json {
                StandardStreams.write(Array(try JSONOutput.encode(breaches)))
                return
            }
            guard !breaches.isEmpty else { return print("no breaches") }
            for breach in breaches {
                let state =
                    breach.isOpen
                    ? "OPEN, report by \(Format.clock(breach.reportBy))"
                    : "closed \(Format.clock(breach.closedAt!)) by \(breach.closedBy ?? "?"): "
                        + (breach.icoReference.map { "ICO \($0)" } ?? "not reportable (\(breach.notReportable ?? ""))")
                print("\(breach.id)  \(state)")
                print("  \(breach.summary)")
                print(
                    "  discovered \(Format.clock(breach.discoveredAt)), opened by \(breach.openedBy); "
                        + "\(breach.disclosures) disclosures, \(breach.people) people; told: "
                        + breach.parties.joined(separator: ", "))
                if !breach.notes.isEmpty {
                    for line in breach.notes.split(separator: "\n") { print("  note \(line)") }
                }
            }
        }
    }
}
