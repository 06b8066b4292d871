import Foundation
import GRDB
import MASHCore

/// The rows of an agency's local extract (a CSV file or an SQLite table), with an identity index over them.
public struct ExtractRecords: Sendable {
    public var rows: [[String: String]]
    public var index: IdentityIndex<Int>

    /// The column names of the extract, to check a configuration against.
    public static func columns(of extract: AdapterConfiguration.Extract) throws -> [String] {
        switch extract.format {
        case .csv:
            return try csv(extract.file).columns
        case .sqlite:
            return try sqlite(extract) { db, table in try db.columns(in: table).map(\.name) }
        }
    }

    public static func load(_ extract: AdapterConfiguration.Extract) throws -> ExtractRecords {
        let rows: [[String: String]]
        switch extract.format {
        case .csv:
            let table = try csv(extract.file)
            rows = table.rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(table.columns, row.values.map(\.trimmingSpaces)))
            }
        case .sqlite:
            rows = try sqlite(extract) { db, table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(quoted(table))").map { row in
                    var values: [String: String] = [:]
                    for column in row.columnNames {
                        switch (row[column] as DatabaseValue).storage {
                        case .string(let text): values[column] = text
                        case .int64(let number): values[column] = String(number)
                        case .double(let number): values[column] = String(number)
                        case .blob, .null: break
                        }
                    }
                    return values
                }
            }
        }
        let people = rows.enumerated().map { ($0.offset, person(from: $0.element, columns: extract.columns)) }
        return ExtractRecords(rows: rows, index: IdentityIndex(people))
    }

    /// How the agency names record `index`: its `key` column, or its row number in the extract (from 1).
    public func key(ofRecord index: Int, column: String?) -> String {
        column.flatMap { rows[index][$0] }.flatMap { $0.isEmpty ? nil : $0 } ?? String(index + 1)
    }

    public static func person(from row: [String: String], columns: [Person.Field: String]) -> Person {
        func value(_ field: Person.Field) -> String? {
            columns[field].flatMap { row[$0] }.flatMap { $0.isEmpty ? nil : $0 }
        }
        return Person(
            forename: value(.forename), surname: value(.surname),
            otherNames: value(.otherNames).map { $0.split(separator: ";").map { String($0).trimmingSpaces } } ?? [],
            dateOfBirth: value(.dateOfBirth).flatMap(parseDate), gender: value(.gender), nhsNumber: value(.nhsNumber),
            upn: value(.upn), pncID: value(.pncID), address: value(.address), postcode: value(.postcode))
    }

    /// `2016-03-14` or the UK's `14/03/2016`.
    public static func parseDate(_ text: String) -> LocalDate? {
        if let date = LocalDate(text) { return date }
        let parts = text.split(separator: "/")
        guard parts.count == 3, let d = Int(parts[0]), let m = Int(parts[1]), let y = Int(parts[2]), y > 999 else {
            return nil
        }
        return LocalDate("\(String(format: "%04d-%02d-%02d", y, m, d))")
    }

    private static func csv(_ file: String) throws -> CSVTable {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ExtractError("cannot read the extract \(file)")
        }
        return try CSVTable(parsing: Array(data), source: file)
    }

    private static func sqlite<T>(_ extract: AdapterConfiguration.Extract, _ body: (Database, String) throws -> T)
        throws
        -> T
    {
        guard FileManager.default.isReadableFile(atPath: extract.file) else {
            throw ExtractError("cannot read the extract \(extract.file)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: extract.file, configuration: configuration)
        let table = extract.table ?? ""
        return try queue.read { db in
            guard try db.tableExists(table) else { throw ExtractError("\(extract.file) has no table '\(table)'") }
            return try body(db, table)
        }
    }

    private static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

public struct ExtractError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
