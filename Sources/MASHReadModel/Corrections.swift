import Foundation
import GRDB

extension HubReadModel {
    /// A correction some recipient has not yet confirmed: ids, times, parties and counts, never content.
    public struct OutstandingCorrection: Sendable, Equatable, Codable {
        public var id: String
        public var action: String
        public var openedAt: Date
        /// One month from the request (UK GDPR Art. 12(3)).
        public var respondBy: Date
        public var recipients: Int
        public var confirmed: Int
        /// The recipients still to confirm, each with how often it has been sent again.
        public var waiting: [WaitingRecipient]

        public func overdue(at now: Date) -> Bool { respondBy < now }
    }

    public struct WaitingRecipient: Sendable, Equatable, Codable {
        public var party: String
        /// The queue's routing key the copy went to (a party with a desk and an adapter has one copy each).
        public var routingKey: String
        public var chases: Int
    }

    /// Every open correction, the soonest due first (a store from before corrections has none).
    public func outstandingCorrections() throws -> [OutstandingCorrection] {
        try reader.read { db in
            guard try db.tableExists("correction") else { return [] }
            let corrections = try Row.fetchAll(
                db,
                sql: """
                    SELECT r.id, r.action, r.opened_at, r.respond_by, count(c.id) AS recipients,
                        count(c.confirmed_at) AS confirmed
                    FROM correction r LEFT JOIN correction_copy c ON c.correction_id = r.id
                    WHERE r.closed_at IS NULL GROUP BY r.id ORDER BY r.respond_by, r.id
                    """)
            return try corrections.map { row in
                let id: String = row["id"]
                let waiting = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT party, routing_key, chases FROM correction_copy
                        WHERE correction_id = ? AND confirmed_at IS NULL ORDER BY party, routing_key
                        """, arguments: [id]
                ).map { WaitingRecipient(party: $0["party"], routingKey: $0["routing_key"], chases: $0["chases"]) }
                return OutstandingCorrection(
                    id: id, action: row["action"], openedAt: Date(timeIntervalSince1970: row["opened_at"]),
                    respondBy: Date(timeIntervalSince1970: row["respond_by"]), recipients: row["recipients"],
                    confirmed: row["confirmed"], waiting: waiting)
            }
        }
    }
}
