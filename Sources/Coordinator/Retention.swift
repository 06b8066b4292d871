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
            try Purge.sweep(contentKeys, tables: tables, in: db, now: now)
        }
        if swept > 0 { logger.notice("swept data keys without a record", metadata: ["keys": "\(swept)"]) }
        return purged
    }

    private func purge(_ table: RetainedTable, _ rule: RetentionSchedule.Rule, before cutoff: Date, now: Date)
        async throws -> Int
    {
        try await store.pool.write { [self] db in
            let count = try Purge.purge(table, in: db, keys: contentKeys, before: cutoff) { id, subjectRef in
                try RecordOfSharing.recordPurge(
                    db, at: now, sender: settings.identity, rule: rule, recordID: id, subjectRef: subjectRef)
            }
            if table.scope == nil, count > 0 {
                try RecordOfSharing.recordPurge(
                    db, at: now, sender: settings.identity, rule: rule, recordID: "", subjectRef: "", count: count)
            }
            return count
        }
    }
}
