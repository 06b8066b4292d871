import Foundation
import GRDB
import MASHConfig
import MASHReadModel
import MASHRuntime

extension Coordinator {
    /// Purges every record the coordinator holds whose period is over at `now`. A record with content has its
    /// key shredded first, then its rows (and the rows that belong to it) are deleted with a ledger entry each,
    /// in one transaction; a purge stopped between the two finds the same rows due and finishes. Records
    /// without content go with one ledger entry per kind. Keys a crash left without a record are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = settings.retention else { return [:] }
        var purged: [RetentionSchedule.Kind: Int] = [:]
        for kind in RetentionSchedule.Kind.allCases {
            let rule = schedule.rule(kind)
            for table in kind.coordinatorTables(from: rule.from) {
                purged[kind, default: 0] += try await purge(table, rule, before: rule.period.cutoff(at: now), now: now)
            }
        }
        let tables = RetentionSchedule.Kind.allCases.flatMap { $0.coordinatorTables(from: .receipt) }
        let swept = try await store.pool.read { [contentKeys] db in
            // A key made for a record whose transaction is still open is younger than an hour.
            try contentKeys.sweep(before: now.addingTimeInterval(-3600)) { scope in
                guard let table = tables.first(where: { $0.scope.map(scope.hasPrefix) ?? false }) else { return true }
                return try Bool.fetchOne(
                    db, sql: "SELECT 1 FROM \(table.table) WHERE \(table.id) = ?",
                    arguments: [String(scope.dropFirst(table.scope!.count))]) ?? false
            }
        }
        if swept > 0 { logger.notice("swept data keys without a record", metadata: ["keys": "\(swept)"]) }
        return purged
    }

    private func purge(_ table: RetainedTable, _ rule: RetentionSchedule.Rule, before cutoff: Date, now: Date)
        async throws -> Int
    {
        try await store.pool.write { [self] db in
            guard let scope = table.scope else {
                let count = try Purge.delete(db, from: table.table, start: table.start, before: cutoff)
                if count > 0 {
                    try RecordOfSharing.recordPurge(
                        db, at: now, sender: settings.identity, rule: rule, recordID: "", subjectRef: "", count: count)
                }
                return count
            }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(table.id) AS id, \(table.subjectRef ?? "''") AS subject_ref FROM \(table.table)
                    WHERE (\(table.start)) < ?
                    """, arguments: [cutoff.timeIntervalSince1970])
            let ids: [String] = rows.map { $0["id"] }
            try contentKeys.shred(ids.map { scope + $0 })
            for row in rows {
                let id: String = row["id"]
                for dependant in table.dependants {
                    let parts = dependant.split(separator: ".")
                    try db.execute(sql: "DELETE FROM \(parts[0]) WHERE \(parts[1]) = ?", arguments: [id])
                }
                try db.execute(sql: "DELETE FROM \(table.table) WHERE \(table.id) = ?", arguments: [id])
                try RecordOfSharing.recordPurge(
                    db, at: now, sender: settings.identity, rule: rule, recordID: id, subjectRef: row["subject_ref"])
            }
            return rows.count
        }
    }
}
