import ArgumentParser
import Foundation
import MASHReadModel

/// The hub's local time for a table cell.
private func ukTime(_ date: Date?) -> String {
    guard let date else { return "-" }
    let formatter = DateFormatter()
    formatter.timeZone = TimeZone(identifier: "Europe/London")
    formatter.dateFormat = "yyyy-MM-dd HH:mm"
    return formatter.string(from: date)
}

/// `mashctl contacts`: professionals' contacts through the front door.
struct Contacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The front door: professionals' contacts, their screening and the feedback to the referrer.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List contacts still open, and those received in the last --days days.",
            discussion: """
                Shows each contact by its reference (MC-…, what the referrer quotes), its state (received: waiting \
                for the SPA's screening; screened: a MASH enquiry is open; told: the outcome was sent), when its \
                screening is due, the screening decision, the enquiry it opened, and whether the referrer's portal \
                has confirmed the outcome. No names or concerns: the SPA's desk shows those.

                Exit status: 0 when nothing is late, 1 when a contact is unscreened past the end of the next \
                working day or an outcome is unconfirmed a working day after it was sent.

                Example:
                  mashctl contacts list --days 1 --json
                """)

        @Option(help: "Also list contacts received in this many days.")
        var days: Int = 7

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let now = Date()
            let contacts = try storeOption.open().contacts(since: now.addingTimeInterval(-Double(days) * 86400))
            let unscreened = contacts.filter { $0.unscreenedOverdue(at: now) }.count
            let late = contacts.filter { $0.feedbackLate(at: now) }.count
            if json {
                struct Report: Encodable {
                    var contacts: [HubReadModel.ContactLine]
                    var unscreenedOverdue: Int
                    var feedbackLate: Int
                }
                FileHandle.standardOutput.write(
                    Data(
                        try JSONOutput.encode(
                            Report(contacts: contacts, unscreenedOverdue: unscreened, feedbackLate: late))))
            } else {
                print(table(contacts, now: now))
                print(
                    "Unscreened past their time: \(unscreened). Outcomes not confirmed by the referrer's portal in time: \(late)."
                )
            }
            if unscreened + late > 0 { throw ExitCode(1) }
        }

        func table(_ contacts: [HubReadModel.ContactLine], now: Date) -> String {
            guard !contacts.isEmpty else { return "No contacts." }
            var lines = [
                Format.row([
                    ("REFERENCE", -20), ("STATE", -9), ("RECEIVED", -16), ("SCREEN BY", -16), ("DECISION", -18),
                    ("ENQUIRY", -36), ("FEEDBACK", -22),
                ])
            ]
            for contact in contacts {
                let feedback =
                    contact.deliveredAt.map { "confirmed " + ukTime($0) }
                    ?? (contact.feedbackLate(at: now)
                        ? "LATE (due \(ukTime(contact.feedbackDue)))"
                        : contact.toldAt == nil ? "-" : "sent, due \(ukTime(contact.feedbackDue))")
                lines.append(
                    Format.row([
                        (contact.reference, -20), (contact.state + (contact.unscreenedOverdue(at: now) ? "!" : ""), -9),
                        (ukTime(contact.receivedAt), -16), (ukTime(contact.screenDue), -16),
                        (contact.decision ?? "-", -18), (contact.enquiryID ?? "-", -36), (feedback, -22),
                    ]))
            }
            if contacts.contains(where: { $0.unscreenedOverdue(at: now) }) {
                lines.append("! not screened by the end of the next working day")
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// `mashctl consultations`: the No-Name Consultation Service's records.
struct Consultations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "The No-Name Consultation Service: consultations and whether their summaries reached the professional.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List consultations whose summary is not yet confirmed, and those held in the last --days days.",
            discussion: """
                Each consultation by its reference (NNC-…), the professional's portal account, when it was held, \
                when its summary is due at the professional's portal (one working day) and when the portal \
                confirmed it, and how many corrections the professional asked for.

                Exit status: 1 when a summary is late, else 0.
                """)

        @Option(help: "Also list consultations held in this many days.")
        var days: Int = 7

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let now = Date()
            let lines = try storeOption.open().consultations(since: now.addingTimeInterval(-Double(days) * 86400))
            let late = lines.filter { $0.summaryLate(at: now) }.count
            if json {
                struct Report: Encodable {
                    var consultations: [HubReadModel.ConsultationLine]
                    var summariesLate: Int
                }
                FileHandle.standardOutput.write(
                    Data(try JSONOutput.encode(Report(consultations: lines, summariesLate: late))))
            } else if lines.isEmpty {
                print("No consultations.")
            } else {
                print(
                    Format.row([
                        ("REFERENCE", -22), ("PROFESSIONAL", -20), ("HELD", -16), ("SUMMARY DUE", -16),
                        ("CONFIRMED", -16), ("CORRECTIONS", 11),
                    ]))
                for line in lines {
                    print(
                        Format.row([
                            (line.reference, -22), (line.professional, -20), (ukTime(line.heldAt), -16),
                            (ukTime(line.summaryDue) + (line.summaryLate(at: now) ? "!" : ""), -16),
                            (ukTime(line.deliveredAt), -16), ("\(line.corrections)", 11),
                        ]))
                }
                print("Summaries late: \(late).")
            }
            if late > 0 { throw ExitCode(1) }
        }
    }
}
