import Foundation
import GRDB
import MASHConfig
import MASHRuntime
import MASHService

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

    /// Purges the items and the inbox's and outbox's message ids the retention schedule says are due, and the
    /// access log's old lines (`viewLogs`); keys a crash left without an item are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = configuration.retention else { return [:] }
        let tables =
            [
                (kind: RetentionSchedule.Kind.deskItems, table: itemTable),
                (kind: .deskItems, table: RetainedTable(table: "sent", id: "id", start: "sent_at", scope: "sent:")),
            ]
            + RetainedTable.messageIDs.map { (kind: RetentionSchedule.Kind.inboxIDs, table: $0) }
        var purged = try await Purge.run(
            tables, schedule: schedule, in: SQLiteStore(store.queue), keys: contentKeys, now: now
        )
        .purged
        let views = try await accessLog.prune(before: schedule.rule(.viewLogs).period.cutoff(at: now))
        if views > 0 { purged[.viewLogs, default: 0] += views }
        return purged
    }
}
