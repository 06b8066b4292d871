import Foundation
import GRDB
import MASHConfig
import MASHRuntime
import MASHService

extension Adapter {
    /// The adapter's copies of its requests, each with its outcome and the challenges raised to its decision. On `closure` a copy counts from the outcome's
    /// arrival (or the request's cancellation); on `receipt`, from the request's arrival once it is no longer
    /// pending. A request still being researched is never purged.
    static func copies(from event: RetentionSchedule.Event) -> RetainedTable {
        let start =
            event == .receipt
            ? "CASE WHEN status <> 'pending' THEN received_at END"
            : """
            COALESCE((SELECT received_at FROM outcome WHERE outcome.request_id = request.id),
                CASE WHEN status = 'cancelled' THEN answered_at END)
            """
        return RetainedTable(
            table: "request", id: "id", start: start, scope: "request:",
            dependants: [
                "outcome.request_id", "opinion_mark.request_id", "challenge_stage.request_id", "challenge.request_id",
            ])
    }

    /// Purges what the retention schedule says is due: each request with its outcome (its key shredded first),
    /// and the inbox's and outbox's old message ids. Keys a crash left without a request are swept.
    func purge(at now: Date) async throws -> [RetentionSchedule.Kind: Int] {
        guard let schedule = configuration.retention else { return [:] }
        let tables =
            [(kind: RetentionSchedule.Kind.adapterCopies, table: Self.copies(from: schedule.rule(.adapterCopies).from))]
            + RetainedTable.messageIDs.map { (kind: RetentionSchedule.Kind.inboxIDs, table: $0) }
        return try await Purge.run(
            tables, schedule: schedule, in: SQLiteStore(store.queue), keys: contentKeys, now: now
        ).purged
    }
}
