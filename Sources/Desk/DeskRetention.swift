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
        return RetainedTable(table: "item", id: "id", start: start, scope: "item:", dependants: ["item_note.item_id"])
    }

    /// Purges the items and the inbox's and outbox's message ids the retention schedule says are due; keys a
    /// crash left without an item are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = configuration.retention else { return [:] }
        let tables =
            [(kind: RetentionSchedule.Kind.deskItems, table: itemTable)]
            + RetainedTable.messageIDs.map { (kind: RetentionSchedule.Kind.inboxIDs, table: $0) }
        return try await Purge.run(tables, schedule: schedule, in: store.queue, keys: contentKeys, now: now).purged
    }
}
