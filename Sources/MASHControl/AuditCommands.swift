import ArgumentParser
import Foundation
import MASHCore
import MASHReadModel

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and export the record of sharing (the hash-chained ledger of every disclosure).",
        subcommands: [Verify.self, Export.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and its link to the one before.",
            discussion: """
                Exit status 0 when the whole chain holds; 1 naming the first entry that does not (edited, \
                removed or reordered), and every entry after it is suspect too.
                """)

        @OptionGroup var options: StoreOption

        func run() throws {
            let result = try RecordOfSharing.verify(try options.open())
            if let bad = result.firstBad {
                throw CommandFailure(
                    "record of sharing BROKEN at entry \(bad.seq): \(bad.problem) (\(result.entries) entries read)")
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
                subject_ref, hash. No personal data: subject_ref is a keyed pseudonym. Example:
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
