import Foundation
import GRDB

extension HubReadModel {
    /// A personal data breach as operators see it: ids, counts, times and the operator's own words.
    public struct Breach: Codable, Sendable, Equatable {
        public var id: String
        public var summary: String
        public var discoveredAt: Date
        public var reportBy: Date
        public var openedBy: String
        public var parties: [String]
        public var people: Int
        public var disclosures: Int
        public var notes: String
        public var closedAt: Date?
        public var closedBy: String?
        public var icoReference: String?
        public var notReportable: String?

        public var isOpen: Bool { closedAt == nil }
    }

    /// Every breach (open ones first, then the newest), or only the open ones.
    public func breaches(openOnly: Bool = false) throws -> [Breach] {
        try reader.read { db in
            guard try db.tableExists("breach") else { return [] }
            return try Row.fetchAll(
                db,
                sql: "SELECT * FROM breach \(openOnly ? "WHERE closed_at IS NULL" : "") "
                    + "ORDER BY closed_at IS NOT NULL, discovered_at DESC"
            ).map { row in
                Breach(
                    id: row["id"], summary: row["summary"],
                    discoveredAt: Date(timeIntervalSince1970: row["discovered_at"]),
                    reportBy: Date(timeIntervalSince1970: row["report_by"]), openedBy: row["opened_by"],
                    parties: (row["parties"] as String).split(separator: ",").map(String.init), people: row["people"],
                    disclosures: row["disclosures"], notes: row["notes"],
                    closedAt: (row["closed_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    closedBy: row["closed_by"], icoReference: row["ico_reference"], notReportable: row["not_reportable"]
                )
            }
        }
    }
}
