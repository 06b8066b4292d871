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

    /// Deletes the rows of `table` whose period (started by `start`, SQL) is over at `cutoff`; returns how many.
    public static func delete(_ db: Database, from table: String, start: String, before cutoff: Date) throws -> Int {
        try db.execute(
            sql: "DELETE FROM \(table) WHERE (\(start)) < ?", arguments: [cutoff.timeIntervalSince1970])
        return db.changesCount
    }
}
