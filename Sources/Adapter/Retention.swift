import Foundation
import GRDB
import MASHConfig
import MASHRuntime

extension RetentionSchedule.Kind {
    /// The adapter's tables of this kind. A request still being researched is never purged.
    var adapterTables: [RetainedTable] {
        switch self {
        case .adapterCopies:
            return [
                RetainedTable(
                    table: "request", id: "id", start: "", scope: "request:", dependants: ["outcome.request_id"])
            ]
        case .inboxIDs:
            return [
                RetainedTable(table: "inbox", id: "message_id", start: "received_at"),
                RetainedTable(table: "outbox", id: "message_id", start: "published_at"),
            ]
        default: return []
        }
    }

    /// When an adapter copy's period starts: on `closure`, the outcome's arrival (or the request's cancellation);
    /// on `receipt`, the request's arrival once it is no longer pending.
    static func adapterCopyStart(from event: RetentionSchedule.Event) -> String {
        event == .receipt
            ? "CASE WHEN status <> 'pending' THEN received_at END"
            : """
            COALESCE((SELECT received_at FROM outcome WHERE outcome.request_id = request.id),
                CASE WHEN status = 'cancelled' THEN answered_at END)
            """
    }
}

extension Adapter {
    /// Purges what the retention schedule says is due: each request with its outcome (its key shredded first),
    /// and the inbox's and outbox's old message ids. Keys a crash left without a request are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = configuration.retention else { return [:] }
        var purged: [RetentionSchedule.Kind: Int] = [:]
        for kind in [RetentionSchedule.Kind.adapterCopies, .inboxIDs] {
            let rule = schedule.rule(kind)
            for var table in kind.adapterTables {
                if kind == .adapterCopies { table.start = RetentionSchedule.Kind.adapterCopyStart(from: rule.from) }
                purged[kind, default: 0] += try await store.queue.write { [contentKeys, table] db in
                    try Purge.purge(table, in: db, keys: contentKeys, before: rule.period.cutoff(at: now))
                }
            }
        }
        _ = try await store.queue.read { [contentKeys] db in
            try Purge.sweep(contentKeys, tables: RetentionSchedule.Kind.adapterCopies.adapterTables, in: db, now: now)
        }
        return purged
    }
}
