import Foundation
import GRDB
import MASHConfig
import MASHReadModel
import MASHRuntime

extension Coordinator {
    /// Purges every record the coordinator holds whose period is over at `now`. A record with content has its
    /// key shredded first, then its rows (and the rows that belong to it) are deleted with a ledger entry each,
    /// in one transaction; a purge stopped between the two finds the same rows due and finishes. Records
    /// without content go with one ledger entry per kind. Keys a crash left without a record are swept. Last, the
    /// record of sharing's own old entries go, from the front, behind a cut the chain verifies from.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = settings.retention else { return [:] }
        let tables = RetentionSchedule.Kind.allCases.flatMap { kind in
            kind.coordinatorTables(from: schedule.rule(kind).from).map { (kind: kind, table: $0) }
        }
        let identity = settings.identity
        let (purged, swept) = try await Purge.run(
            tables, schedule: schedule, in: store.sql, keys: contentKeys, now: now
        ) { db, rule, purged in
            switch purged {
            case .record(let id, let subjectRef):
                try RecordOfSharing.recordPurge(
                    db, at: now, sender: identity, rule: rule, recordID: id, subjectRef: subjectRef)
            case .rows(let count):
                try RecordOfSharing.recordPurge(
                    db, at: now, sender: identity, rule: rule, recordID: "", subjectRef: "", count: count)
            }
        }
        if swept > 0 { logger.notice("swept data keys without a record", metadata: ["keys": "\(swept)"]) }
        let ledger = try await store.sql.write { db in
            try RecordOfSharing.purge(db, rule: schedule.rule(.recordOfSharing), sender: identity, now: now)
        }
        return ledger > 0 ? purged.merging([.recordOfSharing: ledger], uniquingKeysWith: +) : purged
    }
}
