import Foundation
import GRDB
import MASHConfig
import MASHRuntime

extension Desk {
    /// The desk's items, their keys shredded as they go. On `closure` an item counts from when it was done; on a
    /// desk that allows no action, from when it arrived.
    var itemTable: RetainedTable {
        let rule = configuration.retention?.rule(.deskItems)
        let start =
            rule?.from == .closure && !configuration.actions.isEmpty
            ? "CASE WHEN status = 'done' THEN acted_at END" : "received_at"
        return RetainedTable(table: "item", id: "id", start: start, scope: "item:")
    }

    /// Purges the items and the inbox's and outbox's message ids the retention schedule says are due; keys a
    /// crash left without an item are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = configuration.retention else { return [:] }
        let tables: [(RetentionSchedule.Kind, RetainedTable)] = [
            (.deskItems, itemTable),
            (.inboxIDs, RetainedTable(table: "inbox", id: "message_id", start: "received_at")),
            (.inboxIDs, RetainedTable(table: "outbox", id: "message_id", start: "published_at")),
        ]
        var purged: [RetentionSchedule.Kind: Int] = [:]
        for (kind, table) in tables {
            let cutoff = schedule.rule(kind).period.cutoff(at: now)
            purged[kind, default: 0] += try await store.queue.write { [contentKeys] db in
                try Purge.purge(table, in: db, keys: contentKeys, before: cutoff)
            }
        }
        let items = itemTable
        _ = try await store.queue.read { [contentKeys] db in
            try Purge.sweep(contentKeys, tables: [items], in: db, now: now)
        }
        return purged
    }
}
