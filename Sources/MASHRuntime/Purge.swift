import Foundation
import GRDB
import Logging
import MASHConfig
import MASHService

/// The retention schedule applied by a service to the records it holds: a loop that purges what is due at
/// start and then every `interval` (a day by default), counting what went in `mash_retention_purged_total`.
public struct Purge: Sendable {
    public let schedule: RetentionSchedule
    /// Purges what is due at the instant given; returns how many records of each kind went.
    let body: @Sendable (Date) async throws -> [RetentionSchedule.Kind: Int]

    public init(
        schedule: RetentionSchedule, _ body: @escaping @Sendable (Date) async throws -> [RetentionSchedule.Kind: Int]
    ) {
        self.schedule = schedule
        self.body = body
    }

    public func service(logger: Logger, metrics: ServiceMetrics, now: @escaping @Sendable () -> Date) -> LoopService {
        LoopService("retention") { _ in
            while !Task.isCancelled {
                do {
                    let purged = try await body(now())
                    for (kind, count) in purged.sorted(by: { $0.key < $1.key }) where count > 0 {
                        metrics.increment("mash_retention_purged_total", by: count, [("kind", kind.rawValue)])
                        logger.notice("purged", metadata: ["kind": "\(kind.rawValue)", "records": "\(count)"])
                    }
                } catch {
                    // Logged and tried again at the next interval: a purge that stopped half way runs again.
                    logger.error("retention purge failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(schedule.interval))
            }
        }
    }

    /// What one purge took away, for the holder's own record (the coordinator's ledger).
    public enum Purged: Sendable {
        /// A record with content of its own, by id and subject reference.
        case record(id: String, subjectRef: String)
        /// Rows without content, counted.
        case rows(Int)
    }

    /// Purges `tables` (each with the kind whose rule applies) by `schedule` at `now`, each table in a
    /// transaction of its own, calling `recorded` inside it with what went; then sweeps keys left without a
    /// record. Returns how many records of each kind went, and how many keys were swept.
    public static func run(
        _ tables: [(kind: RetentionSchedule.Kind, table: RetainedTable)], schedule: RetentionSchedule,
        in writer: any SQLStore, keys: ContentKeys, now: Date,
        recorded: @escaping @Sendable (any SQLDatabase, RetentionSchedule.Rule, Purged) throws -> Void = { _, _, _ in }
    ) async throws -> (purged: [RetentionSchedule.Kind: Int], swept: Int) {
        var purged: [RetentionSchedule.Kind: Int] = [:]
        for (kind, table) in tables {
            let rule = schedule.rule(kind)
            purged[kind, default: 0] += try await writer.write { db in
                let count = try purge(table, in: db, keys: keys, before: rule.period.cutoff(at: now)) {
                    try recorded(db, rule, .record(id: $0, subjectRef: $1))
                }
                if table.scope == nil, count > 0 { try recorded(db, rule, .rows(count)) }
                return count
            }
        }
        let keyed = tables.map(\.table).filter { $0.scope != nil }
        let swept = try await writer.read { db in try sweep(keys, tables: keyed, in: db, now: now) }
        return (purged, swept)
    }

    /// Purges the rows of `table` whose period is over at `cutoff`, in the caller's transaction. Rows with
    /// content of their own have their keys shredded first (committed before the rows go, so a purge stopped
    /// between the two finds the same rows due and finishes), then each row and the rows that belong to it are
    /// deleted and `each` is called with its id and subject reference (for a ledger entry). Rows without
    /// content are deleted together. Returns how many went.
    static func purge(
        _ table: RetainedTable, in db: any SQLDatabase, keys: ContentKeys, before cutoff: Date,
        each: (_ id: String, _ subjectRef: String) throws -> Void
    ) throws -> Int {
        guard table.scope != nil else {
            try db.execute(
                sql: "DELETE FROM \(table.table) WHERE (\(table.start)) < ?", arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
        }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT \(table.id) AS id, \(table.subjectRef ?? "''") AS subject_ref FROM \(table.table)
                WHERE (\(table.start)) < ?
                """, arguments: [cutoff.timeIntervalSince1970])
        try erase(rows.map { $0["id"] }, of: table, in: db, keys: keys)
        for row in rows { try each(row["id"], row["subject_ref"]) }
        return rows.count
    }

    /// Deletes the records `ids` of `table` (a table with content keys of its own) and the rows that belong to
    /// them, their keys shredded first: a purge, or an erasure the hub asked for.
    public static func erase(_ ids: [String], of table: RetainedTable, in db: any SQLDatabase, keys: ContentKeys) throws
    {
        guard let scope = table.scope, !ids.isEmpty else { return }
        try keys.shred(ids.map { scope + $0 })
        for id in ids {
            for dependant in table.dependants {
                let parts = dependant.split(separator: ".")
                try db.execute(sql: "DELETE FROM \(parts[0]) WHERE \(parts[1]) = ?", arguments: [id])
            }
            try db.execute(sql: "DELETE FROM \(table.table) WHERE \(table.id) = ?", arguments: [id])
        }
    }

    /// Shreds the keys in `keys` older than an hour whose record is in none of `tables` (a crash between a key's
    /// commit and its record's); a record's transaction never lasts that long. Returns how many went.
    static func sweep(_ keys: ContentKeys, tables: [RetainedTable], in db: any SQLDatabase, now: Date) throws -> Int {
        try keys.sweep(before: now.addingTimeInterval(-3600)) { scope in
            guard let table = tables.first(where: { $0.scope.map(scope.hasPrefix) ?? false }) else { return true }
            return try Bool.fetchOne(
                db, sql: "SELECT 1 FROM \(table.table) WHERE \(table.id) = ?",
                arguments: [String(scope.dropFirst(table.scope!.count))]) ?? false
        }
    }
}
