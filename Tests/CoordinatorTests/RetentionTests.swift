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
                // "4s" or "4s receipt": a period, and the event when it is not the kind's first.
                let given = (short[kind] ?? (kind == .inboxIDs ? "72h" : "5y")).split(separator: " ")
                let from = given.count > 1 ? String(given[1]) : kind.events[0].rawValue
                yaml += "  \(kind.rawValue): {period: \(given[0]), from: \(from), reason: a test}\n"
            }
            return yaml
        }

        @Test(
            "a decided enquiry's period ends at the coordinator, the adapter and a desk: rows and keys go, an old backup cannot be opened, the ledger records the purge and verifies"
        )
        func purgeShreds() async throws {
            try await Harness.with("retention", routing: try DecisionTests.routing(decision: "60s wall-clock")) {
                harness in
                let file = harness.scratch.file("retention.yaml")
                try Self.schedule([.enquiries: "4s", .adapterCopies: "4s", .deskItems: "4s receipt"]).write(
                    toFile: file, atomically: true, encoding: .utf8)
                harness.retentionFile.withLock { $0 = file }
                try await harness.startInProcess()
                let adapterConfig = try harness.adapterConfig(
                    "police", research: AdapterTests.commandResearch("answer"), extra: "retention: \(file)")
                try await harness.startAdapter(adapterConfig, agency: "police")
                let storeLine = try String(contentsOfFile: adapterConfig, encoding: .utf8).split(separator: "\n")
                    .first { $0.hasPrefix("store: ") }
                let adapterStore = String(try #require(storeLine).dropFirst("store: ".count))
                let deskStore = try await harness.startDesk(
                    "spa", queue: "spa.notices", shows: ["mash.outcome/1"], extra: "retention: \(file)")
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let id = enquiry.id

                // Open, so not yet counting: the report holds it with nothing due.
                let open = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.store, "--json",
                ])
                #expect(open.status == 0, "\(open.output)")
                let openLine = try #require(try Self.line("enquiries", of: open.output))
                #expect(openLine["held"] as? Int == 1 && openLine["dueNow"] as? Int == 0)
                #expect(openLine["nextDue"] == nil && openLine["reason"] as? String == "a test")

                // A backup taken while the enquiry is held (a copy of the SQLite file, or of the PostgreSQL
                // schema's rows): its content, and the key store as it is now.
                let backup = try harness.copyStore("backup")
                let document = try harness.modify(store: backup) { db in
                    try Data.fetchOne(db, sql: "SELECT document FROM enquiry WHERE id = ?", arguments: [id])
                }
                let sealed = try #require(document)
                let dataKey = try DataKeyring.loadOrCreate(at: harness.hub.keys.path + "/coordinator/data-at-rest.key")
                let opened = try harness.contentKeys(wrapping: dataKey).open(
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
                            SELECT (SELECT count(*) FROM request WHERE enquiry_id = ?)
                                + (SELECT count(*) FROM timer WHERE enquiry_id = ?)
                            """, arguments: [id, id])
                }
                #expect(left == 0)

                // The backup, beside the key store as it is after the purge, no longer opens.
                let after = try harness.contentKeys(wrapping: dataKey)
                #expect(try !after.hasKey("enquiry:\(id)"))
                #expect(throws: ContentShredded.self) {
                    try after.open(Array(sealed), scope: "enquiry:\(id)", context: Array("enquiry:\(id)".utf8))
                }

                // The adapter's copy (the request and its outcome) and the SPA desk's item (the outcome) go too,
                // with their keys, once the outcome has been held for the period.
                try await harness.eventually("the adapter's copy purged", within: .seconds(30)) {
                    try Self.count("SELECT count(*) FROM request", in: adapterStore) == 0
                        && Self.count("SELECT count(*) FROM outcome", in: adapterStore) == 0
                }
                try await harness.eventually("the desk's item purged", within: .seconds(30)) {
                    try Self.count("SELECT count(*) FROM item", in: deskStore) == 0
                }
                for store in [adapterStore, deskStore] {
                    #expect(
                        try Self.count("SELECT count(*) FROM content_key", in: ContentKeys.path(besideStore: store))
                            == 0,
                        "\(store)'s key store still holds a key")
                }
                let deskLog = try String(contentsOfFile: harness.scratch.file("desk-spa.log"), encoding: .utf8)
                #expect(deskLog.contains("item stored"), "the desk took the outcome before purging it")

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
                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verified.status == 0, "\(verified.output)")

                let report = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.store,
                ])
                #expect(report.status == 0, "\(report.output)")
                #expect(report.output.contains("PLACEHOLDER periods"))
                #expect(report.output.contains("deskItems") && report.output.contains("desks"))
                let after2 = try await harness.mashctl([
                    "retention", "report", "--schedule", file, "--store", harness.store, "--json",
                ])
                #expect(try Self.line("enquiries", of: after2.output)?["held"] as? Int == 0)
                #expect((try Self.line("recordOfSharing", of: after2.output)?["held"] as? Int ?? 0) >= entries.count)
            }
        }

        @Test(
            "the record of sharing's own period: old entries go from the front behind a cut, the purge is an entry, the chain verifies from the cut, and nothing else may delete an entry"
        )
        func ledgerPurge() async throws {
            try await Harness.with("retention-ledger") { harness in
                let file = harness.scratch.file("retention.yaml")
                try Self.schedule([.recordOfSharing: "3s"]).write(toFile: file, atomically: true, encoding: .utf8)
                harness.retentionFile.withLock { $0 = file }
                _ = try await harness.agencies(["police"])
                try await harness.startInProcess()
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                _ = try await harness.take(1, from: "decision-maker.packages", as: "decision-maker")
                let sent = try harness.query { db in
                    try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM record_of_sharing WHERE enquiry_id = ?", arguments: [enquiry.id])
                }
                #expect(sent == 3)
                try await harness.eventually("the enquiry's entries purged", within: .seconds(30)) {
                    try harness.query { db in
                        try Int.fetchOne(
                            db, sql: "SELECT count(*) FROM record_of_sharing WHERE enquiry_id = ?",
                            arguments: [enquiry.id])
                    } == 0
                }
                let (cut, first, purges) = try harness.query { db in
                    (
                        try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record_of_sharing_cut") ?? 0,
                        try Int64.fetchOne(db, sql: "SELECT min(seq) FROM record_of_sharing") ?? 0,
                        try String.fetchAll(
                            db,
                            sql: "SELECT purpose FROM record_of_sharing WHERE purpose LIKE 'purged: %recordOfSharing%'")
                    )
                }
                #expect(cut >= 3 && first == cut + 1)
                #expect(!purges.isEmpty)
                let verified = try await harness.mashctl(["audit", "verify", "--store", harness.store])
                #expect(verified.status == 0, "\(verified.output)")
                #expect(verified.output.contains("purged under the retention schedule"), "\(verified.output)")

                // Anyone else deleting an entry, even the oldest kept, is refused by the store.
                await harness.stopInProcess()
                #expect {
                    try harness.modify { db in
                        try db.execute(
                            sql: "DELETE FROM record_of_sharing WHERE seq = (SELECT min(seq) FROM record_of_sharing)")
                    }
                } throws: { error in
                    "\(error)".contains("the record of sharing is append-only")
                }
            }
        }

        static func count(_ sql: String, in path: String) throws -> Int {
            let store = try Harness.sqlite(path)
            defer { try? store.close() }
            return try store.read { try Int.fetchOne($0, sql: sql) ?? -1 }
        }

        static func line(_ kind: String, of json: String) throws -> [String: Any]? {
            let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            return (object?["records"] as? [[String: Any]])?.first { $0["kind"] as? String == kind }
        }
    }
}
