import Foundation
import MASHCore

/// Matching quality on a labelled set (scripts/synthetic-extracts.py --labelled N): each query is searched in
/// the records and counted by `MatchTally` (as `mashctl match --labelled` counts): precision of the match band
/// is the share of its predictions that name the right record, recall the share of queries whose person is in
/// the records that it names rightly. Also reports the potential-match band and the search rate.
let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    print("usage: matching-bench <folder with records.csv and queries.csv>")
    exit(2)
}
func table(_ name: String) throws -> CSVTable {
    let path = (arguments[1] as NSString).appendingPathComponent(name)
    guard let data = FileManager.default.contents(atPath: path) else {
        throw DocumentError(source: path, field: "", problem: "cannot read")
    }
    return try CSVTable(parsing: Array(data), source: path)
}
func person(_ row: CSVTable.Row, _ columns: [String]) -> Person {
    func value(_ name: String) -> String? {
        guard let index = columns.firstIndex(of: name) else { return nil }
        let text = row.values[index].trimmingSpaces
        return text.isEmpty ? nil : text
    }
    return Person(
        forename: value("forename"), surname: value("surname"), dateOfBirth: value("dob").flatMap { LocalDate($0) },
        gender: value("gender"), nhsNumber: value("nhs_number"), upn: value("upn"), postcode: value("postcode"))
}

let records = try table("records.csv")
let queries = try table("queries.csv")
let clock = ContinuousClock()
let indexStart = clock.now
let index = IdentityIndex(records.rows.map { (Int($0.values[0])!, person($0, records.columns)) })
let indexTime = clock.now - indexStart

var tally = MatchTally()
let searchStart = clock.now
for row in queries.rows {
    let found = index.search(person(row, queries.columns))
    tally.add(best: found.first.map { ($0.id, $0.assessment) }, truth: Int(row.values[0]))
}
let searchTime = clock.now - searchStart
let seconds = Double(searchTime.components.seconds) + Double(searchTime.components.attoseconds) / 1e18
let precision = tally.match.precision
let recall = tally.recall(.match)
print(
    String(
        format:
            "matching: %d records, %d queries (%d of people in the records); match band precision %.4f recall %.4f; "
            + "potential-match band %d (%d right, %d many-matches); %.0f searches/s; index built in %@",
        records.rows.count, queries.rows.count, tally.present, precision, recall, tally.potentialMatch.predicted,
        tally.potentialMatch.right, tally.potentialMatch.manyMatches, Double(queries.rows.count) / seconds,
        "\(indexTime)"))
print(String(format: "MATCHING precision=%.4f recall=%.4f", precision, recall))
