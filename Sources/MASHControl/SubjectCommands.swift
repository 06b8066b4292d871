import AMQP
import ArgumentParser
import Foundation
import MASHCore
import MASHProtocol
import MASHReadModel
import Sealing

/// `mashctl subject`: a data subject's rights over what the hub shared about them.
struct Subject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subject access: who received a person's data, from the record of sharing.",
        subcommands: [Disclosures.self])

    struct Disclosures: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every disclosure about one person: to whom, when, which data, on which basis, why.",
            discussion: """
                The person is found as the record of sharing names them: by a keyed reference made from the name \
                and date of birth (spelling as the case system holds it; case, spaces, hyphens and apostrophes \
                do not matter), and from the NHS number when given. Disclosures about other people only (a \
                brother's own school notice) are not listed. The search is recorded by the coordinator (who, \
                when, --reason) before anything is shown; if it cannot be recorded, nothing is shown. Content is \
                never shown: each line says what kind of data went, not the data.

                Use --csv or --json for the response to the requester.

                Examples:
                  mashctl subject disclosures --forename Amy --surname Carter --dob 2019-03-01 \\
                      --reason "SAR-2026-114" --as dpo.khan
                  mashctl subject disclosures --forename Amy --surname Carter --dob 2019-03-01 --nhs 9434765919 \\
                      --from 2026-01-01 --reason "SAR-2026-114" --as dpo.khan --csv > disclosures.csv
                """)

        @Option(help: "The person's forename.")
        var forename: String
        @Option(help: "The person's surname.")
        var surname: String
        @Option(help: "Date of birth (YYYY-MM-DD).")
        var dob: String
        @Option(help: "NHS number, to find disclosures made with it as well.")
        var nhs: String?
        @Option(help: "First day (YYYY-MM-DD, UTC) or time (ISO 8601) to include.")
        var from: String?
        @Option(help: "Day or time to stop before (exclusive).")
        var to: String?
        @Option(help: "Why: the subject access request's reference. Recorded with the search. Required.")
        var reason: String
        @Option(name: .customLong("as"), help: "Who is searching (a staff id), for the record.")
        var operatorName: String = ProcessInfo.processInfo.environment["USER"] ?? "operator"
        @Option(
            help: """
                Key directory: <dir>/operator/*.pem signs the request, <dir>/coordinator/*.jwk seals it, and \
                <dir>/coordinator/data-at-rest.key makes the references.
                """)
        var keys: String = ".build/keys"
        @OptionGroup var hub: HubOptions
        @Flag(help: "Print JSON instead of a table.")
        var json = false
        @Flag(help: "Print CSV (RFC 4180) instead of a table.")
        var csv = false

        /// How long the coordinator has to record the search; a request it reads later is refused (`expired`).
        static let recordWindow: TimeInterval = 30

        func validate() throws {
            guard LocalDate(dob) != nil else { throw ValidationError("--dob '\(dob)' is not YYYY-MM-DD") }
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--reason must give the subject access request's reference")
            }
            guard !(json && csv) else { throw ValidationError("give --json or --csv, not both") }
        }

        func run() async throws {
            let dataKey = (keys as NSString).appendingPathComponent("coordinator/data-at-rest.key")
            guard FileManager.default.fileExists(atPath: dataKey) else {
                throw CommandFailure("\(dataKey): no data key, so the person's references cannot be made (--keys)")
            }
            let references = SubjectReference.references(
                forename: forename, surname: surname, dateOfBirth: LocalDate(dob), nhsNumber: nhs,
                keyring: try DataKeyring.loadOrCreate(at: dataKey))
            let store = try hub.storeOption.open()
            let from = try Audit.Export.instant(from, "--from")
            let to = try Audit.Export.instant(to, "--to")
            try await record(references, store)
            let entries = try RecordOfSharing.disclosures(store, about: references, from: from, to: to)
                .filter { $0.recipient != "retention" }
            if csv {
                StandardStreams.write(Array(RecordOfSharing.csv(entries).utf8))
                return
            }
            if json {
                struct Line: Encodable {
                    var seq: Int64
                    var at: String
                    var from: String
                    var to: String
                    var dataCategories: [String]
                    var lawfulBasis: String
                    var purpose: String
                    var caseID: String
                    var messageID: String
                }
                try JSONOutput.write(
                    entries.map {
                        Line(
                            seq: $0.seq, at: $0.at, from: $0.sender, to: $0.recipient,
                            dataCategories: $0.dataCategories.split(separator: ",").map(String.init),
                            lawfulBasis: $0.lawfulBasis, purpose: $0.purpose, caseID: $0.enquiryID,
                            messageID: $0.messageID)
                    })
                return
            }
            print("\(entries.count) disclosure\(entries.count == 1 ? "" : "s") about this person")
            guard !entries.isEmpty else { return }
            print(
                Format.row([
                    ("WHEN", -20), ("FROM", -18), ("TO", -22), ("DATA", -26), ("CASE", -36), ("BASIS", -40),
                ]))
            for entry in entries {
                print(
                    Format.row([
                        (entry.at, -20), (entry.sender, -18), (entry.recipient, -22), (entry.dataCategories, -26),
                        (entry.enquiryID, -36), (entry.lawfulBasis, -40),
                    ]))
            }
        }

        /// Asks the coordinator to record the search and waits, reading the store, until it has.
        private func record(_ references: [String], _ store: HubReadModel) async throws {
            let now = Date()
            let access = SubjectAccess(
                requestedBy: operatorName, reason: reason, references: references, at: now,
                expiresAt: now.addingTimeInterval(Self.recordWindow))
            let connection = try await AMQPConnection.connect(
                AMQPConfiguration(url: try hub.brokerURL(), connectionName: "mashctl subject"))
            let id: String
            do {
                id = try await SenderOptions.publish(
                    access.json, type: .subjectAccess, as: "operator", keys: keys, on: connection,
                    routingKey: HubQueues.operatorRoutingKey)
                await connection.close()
            } catch {
                await connection.close()
                throw error
            }
            guard try await store.awaitOperatorAction(messageID: id, timeout: .seconds(2 * Self.recordWindow)) != nil
            else {
                throw CommandFailure(
                    "the coordinator did not record the search within \(Int(2 * Self.recordWindow)) s (is it "
                        + "running? see `mashctl status`); nothing is shown")
            }
        }
    }
}
