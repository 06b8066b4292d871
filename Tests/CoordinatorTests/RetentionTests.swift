import Coordinator
import Foundation
import GRDB
import MASHConfig
import MASHCore
import MASHReadModel
import MASHRuntime
import MASHTesting
import Sealing
import Testing

extension CoordinatorBrokerTests {
    @Suite("Coordinator: the retention schedule purges, and shreds the key")
    struct RetentionTests {
        /// A schedule with `short` periods for the kinds given and years for the rest, purging every second.
        static func schedule(_ short: [RetentionSchedule.Kind: String]) -> String {
            var yaml = "interval: 1s\nrecords:\n"
            for kind in RetentionSchedule.Kind.allCases {
                let period = short[kind] ?? (kind == .inboxIDs ? "72h" : "5y")
                yaml += "  \(kind.rawValue): {period: \(period), from: \(kind.events[0].rawValue), reason: a test}\n"
            }
            return yaml
        }

        @Test(
            "a decided enquiry's period ends: its rows and its key go, an old backup of the store cannot open it, the ledger records the purge and still verifies"
        )
        func purgeShreds() async throws {
            try await Harness.with("retention", routing: try DecisionTests.routing(decision: "60s wall-clock")) {
                harness in
                let file = harness.scratch.file("retention.yaml")
                try Self.schedule([.enquiries: "4s"]).write(toFile: file, atomically: true, encoding: .utf8)
                harness.retentionFile.withLock { $0 = file }
                let enquiry = try await DecisionTests.packaged(harness)
                let id = enquiry.id

                // Open, so not yet counting: the report holds it with nothing due.
                let open = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.storePath, "--json",
                ])
                #expect(open.status == 0, "\(open.output)")
                let openLine = try #require(try Self.line("enquiries", of: open.output))
                #expect(openLine["held"] as? Int == 1 && openLine["dueNow"] as? Int == 0)
                #expect(openLine["nextDue"] == nil && openLine["reason"] as? String == "a test")

                // A backup taken while the enquiry is held: its content, and the key store as it is now.
                let backup = harness.scratch.file("backup.sqlite")
                try DatabaseQueue(path: harness.storePath).backup(to: try DatabaseQueue(path: backup))
                let backupStore = try DatabaseQueue(path: backup)
                let document = try await backupStore.read { db in
                    try Data.fetchOne(db, sql: "SELECT document FROM enquiry WHERE id = ?", arguments: [id])
                }
                let sealed = try #require(document)
                let dataKey = try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/coordinator/data-at-rest.key")
                let keyStore = ContentKeys.path(besideStore: harness.storePath)
                let opened = try ContentKeys(path: keyStore, wrapping: dataKey).open(
                    Array(sealed), scope: "enquiry:\(id)", context: Array("enquiry:\(id)".utf8))
                #expect(try Enquiry(json: opened, source: "backup") == enquiry)
                let subjectRef = try harness.query { db in
                    try String.fetchOne(db, sql: "SELECT subject_ref FROM enquiry WHERE id = ?", arguments: [id])
                }

                try await harness.send(
                    DecisionTests.decision(enquiry).json, type: .decision, from: "decision-maker",
                    routingKey: "decision")
                try await harness.eventually("the decided enquiry purged", within: .seconds(30)) {
                    try harness.query { db in
                        try Int.fetchOne(db, sql: "SELECT count(*) FROM enquiry WHERE id = ?", arguments: [id])
                    } == 0
                }
                let left = try harness.query { db in
                    try Int.fetchOne(
                        db,
                        sql: """
                            SELECT (SELECT count(*) FROM request WHERE enquiry_id = ?1)
                                + (SELECT count(*) FROM timer WHERE enquiry_id = ?1)
                            """, arguments: [id])
                }
                #expect(left == 0)

                // The backup, beside the key store as it is after the purge, no longer opens.
                let after = try ContentKeys(path: keyStore, wrapping: dataKey)
                #expect(try !after.hasKey("enquiry:\(id)"))
                #expect(throws: ContentShredded.self) {
                    try after.open(Array(sealed), scope: "enquiry:\(id)", context: Array("enquiry:\(id)".utf8))
                }

                // The purge is on the ledger under the enquiry's pseudonym; the disclosures stay; the chain holds.
                let entries = try harness.query { db in
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM record_of_sharing WHERE enquiry_id = ? ORDER BY seq", arguments: [id])
                }
                let purge = try #require(entries.last)
                #expect(purge["recipient"] == "retention")
                #expect(purge["purpose"] == "purged: enquiries, 4s from closure")
                #expect(purge["subject_ref"] == subjectRef)
                #expect(entries.dropLast().contains { $0["recipient"] == "police" })
                #expect(entries.dropLast().contains { $0["recipient"] == "decision-maker" })
                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.storePath])
                #expect(verified.status == 0, "\(verified.output)")

                let report = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.storePath,
                ])
                #expect(report.status == 0, "\(report.output)")
                #expect(report.output.contains("PLACEHOLDER periods"))
                #expect(report.output.contains("deskItems") && report.output.contains("desks"))
                let after2 = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.storePath, "--json",
                ])
                #expect(try Self.line("enquiries", of: after2.output)?["held"] as? Int == 0)
                #expect((try Self.line("recordOfSharing", of: after2.output)?["held"] as? Int ?? 0) >= entries.count)
            }
        }

        static func line(_ kind: String, of json: String) throws -> [String: Any]? {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return (object?["records"] as? [[String: Any]])?.first { $0["kind"] as? String == kind }
        }
    }
}
