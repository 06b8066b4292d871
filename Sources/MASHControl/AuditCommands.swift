import AMQP
import ArgumentParser
import Foundation
import MASHCore
import MASHReadModel
import Sealing

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and export the record of sharing (the hash-chained ledger of every disclosure).",
        subcommands: [Verify.self, Export.self, Views.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and its link to the one before, and the chain against its checkpoints.",
            discussion: """
                Exit status 0 when the whole chain holds; 1 naming the first entry that does not (edited, \
                removed or reordered), and every entry after it is suspect too.

                The chain alone cannot show entries cut from its end, or an entry rewritten with every hash \
                after it recomputed. The coordinator therefore signs a checkpoint of the chain's head (its \
                length and last hash) every --checkpoint-every seconds and sends it to the audit.checkpoints \
                queue and to its checkpoint file (<store>.checkpoints); ship that file somewhere the store's \
                holders cannot write. With --checkpoints, each checkpoint's signature is checked against the \
                coordinator's public keys, then the store must hold, at each checkpoint's length, the very \
                entry it signed.

                Examples:
                  mashctl audit verify --store /var/lib/mash/coordinator/coordinator.sqlite
                  mashctl audit verify --checkpoints /archive/mash/coordinator.sqlite.checkpoints --keys /etc/mash/keys
                  mashctl audit verify --checkpoints audit.checkpoints --broker amqps://operator:…@mq:5671/mash
                """)

        @OptionGroup var options: StoreOption

        @Option(
            help: """
                Signed checkpoints: a file (one per line) or, when no such file exists, the name of a queue to \
                read them from without taking them (audit.checkpoints).
                """)
        var checkpoints: String?

        @Option(help: "Key directory holding <dir>/coordinator/*.jwk, whose signatures the checkpoints carry.")
        var keys: String = ".build/keys"

        @Option(help: "Broker URL as the operator user, to read a checkpoint queue. Default: $MASH_OPERATOR_URL.")
        var broker: String?

        func run() async throws {
            let store = try options.open()
            let result = try RecordOfSharing.verify(store)
            if let bad = result.firstBad {
                throw CommandFailure(
                    "record of sharing BROKEN at entry \(bad.seq): \(bad.problem) (\(result.entries) entries read)")
            }
            if let checkpoints {
                let signed = try await Self.read(checkpoints, broker: broker)
                let trusted = try TrustStore(directory: keys)
                let verified = try signed.enumerated().map { index, jws in
                    do {
                        return try AuditCheckpoint.verified(
                            jws, trusted: trusted, issuer: "coordinator", source: "\(checkpoints) #\(index + 1)")
                    } catch {
                        throw CommandFailure("\(checkpoints): checkpoint \(index + 1) is not genuine: \(error)")
                    }
                }
                guard !verified.isEmpty else { throw CommandFailure("\(checkpoints): no checkpoints to check against") }
                let check = try RecordOfSharing.check(store, against: verified)
                if let problem = check.problem {
                    throw CommandFailure("record of sharing BROKEN: \(problem)")
                }
                StandardStreams.note(
                    "record of sharing agrees with \(check.checked) signed checkpoint\(check.checked == 1 ? "" : "s")"
                        + (check.purged > 0 ? " (\(check.purged) more fall in the purged entries)" : "")
                        + "; the latest signed at \(Instant.format(verified.map(\.at).max()!))")
            }
            StandardStreams.note(
                "record of sharing verified: \(result.entries) entries, chain intact"
                    + (result.purgedThrough > 0
                        ? " (entries 1 to \(result.purgedThrough) purged under the retention schedule; the chain "
                            + "verifies from the last purged entry's hash)" : ""))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write disclosures as CSV for the information governance lead.",
            discussion: """
                Columns: seq, time, from, to, purpose, lawful_basis, data_categories, message_id, enquiry_id, \
                subject_ref, hash, grounds (consent or override with who agreed and its reference, the \
                justification, any exemption). No personal data: subject_ref is a keyed pseudonym. Example:
                  mashctl audit export --from 2026-11-01 --to 2026-12-01 > november.csv
                """)

        @OptionGroup var options: StoreOption

        @Option(help: "First day (YYYY-MM-DD, UTC) or time (ISO 8601) to include.")
        var from: String?

        @Option(help: "Day or time to stop before (exclusive).")
        var to: String?

        func run() throws {
            let entries = try RecordOfSharing.entries(
                try options.open(), from: try Self.instant(from, "--from"),
                to: try Self.instant(to, "--to"))
            StandardStreams.write(Array(RecordOfSharing.csv(entries).utf8))
            StandardStreams.note("\(entries.count) disclosures")
        }

        static func instant(_ text: String?, _ option: String) throws -> Date? {
            guard let text else { return nil }
            if let instant = Instant.parse(text) { return instant }
            if LocalDate(text) != nil, let day = Instant.parse(text + "T00:00:00Z") { return day }
            throw ValidationError("\(option) '\(text)' is not a date (YYYY-MM-DD) or time (ISO 8601)")
        }
    }

}

extension Audit {
    struct Views: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every time a member of staff was shown personal data: who, when, what and why.",
            discussion: """
                Each line is one view the coordinator recorded before anything was shown: an enquiry's decision \
                package opened (`enquiry show --key`), a dead letter shown (`dlq show`), a search of the \
                disclosures about a person (`subject disclosures`). Who is the staff member whose own key signed \
                the request (Config/staff.yaml), not a name anyone typed. No personal data is listed: a person is \
                named only by how many keyed references the search used.

                Examples:
                  mashctl audit views --from 2026-11-01 --to 2026-12-01
                  mashctl audit views --staff j.smith --json
                """)

        @OptionGroup var options: StoreOption

        @Option(help: "First day (YYYY-MM-DD, UTC) or time (ISO 8601) to include.")
        var from: String?

        @Option(help: "Day or time to stop before (exclusive).")
        var to: String?

        @Option(help: "Only this staff member's views.")
        var staff: String?

        @Flag(help: "Print JSON: one object per view.")
        var json = false

        struct View: Encodable {
            var at: Date
            var staff: String
            var what: String
            var detail: String
            var messageID: String
        }

        func run() throws {
            let views = try options.open().operatorActions(
                kinds: OperatorAction.views, from: try Export.instant(from, "--from"),
                to: try Export.instant(to, "--to"), staff: staff
            ).map { action in
                View(
                    at: action.at, staff: action.operatorName,
                    what: action.kind == .subjectAccess
                        ? "subject-access" : action.summary.prefix { $0 != " " }.description,
                    detail: action.summary, messageID: action.messageID)
            }
            if json { return try JSONOutput.write(views) }
            var lines = [Format.row([("WHEN", -20), ("STAFF", -16), ("WHAT", -14), ("DETAIL", -6)])]
            for view in views {
                lines.append(
                    Format.row([
                        (Instant.format(view.at), -20), (view.staff, -16), (view.what, -14),
                        (view.detail, -view.detail.count),
                    ]))
            }
            StandardStreams.write(Array((lines.joined(separator: "\n") + "\n").utf8))
            StandardStreams.note("\(views.count) view\(views.count == 1 ? "" : "s")")
        }
    }
}

extension Audit.Verify {
    /// The checkpoints' compact JWSs from a file, or from a queue by taking and returning them.
    static func read(_ source: String, broker: String?) async throws -> [String] {
        if FileManager.default.fileExists(atPath: source) {
            guard let data = FileManager.default.contents(atPath: source) else {
                throw CommandFailure("\(source): cannot read the checkpoint file")
            }
            return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map(String.init)
        }
        guard source.contains("."), !source.contains("/") else {
            throw CommandFailure("\(source): no such checkpoint file")
        }
        guard let url = broker ?? ProcessInfo.processInfo.environment["MASH_OPERATOR_URL"] else {
            throw CommandFailure(
                "\(source) is not a file; to read it as a queue pass --broker or set MASH_OPERATOR_URL")
        }
        let queue = try await DeadLetterQueue.take(queue: source, limit: 1 << 16, broker: try AMQPURL(url))
        let bodies = queue.deliveries.map { String(decoding: $0.body, as: UTF8.self) }
        await queue.release()
        return bodies
    }
}
