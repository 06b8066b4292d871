import Foundation
import MASHCore

/// Matching quality on a labelled set (scripts/synthetic-extracts.py --labelled N): each query is searched in
/// the records; the top candidate in the match band is the prediction. Precision is the share of predictions
/// that name the right record; recall the share of queries whose person is in the records that are predicted
/// correctly. Also reports the potential-match band and the search rate.
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

var predicted = 0
var correct = 0
var present = 0
var potentialRight = 0
var potential = 0
var manyMatches = 0
let searchStart = clock.now
for row in queries.rows {
    let truth = Int(row.values[0])
    if truth != nil { present += 1 }
    let found = index.search(person(row, queries.columns))
    if let top = found.first, top.assessment.band == .match {
        predicted += 1
        if top.id == truth { correct += 1 }
    } else if let top = found.first {
        potential += 1
        if top.id == truth { potentialRight += 1 }
        if top.assessment.manyMatch { manyMatches += 1 }
    }
}
let searchTime = clock.now - searchStart
let seconds = Double(searchTime.components.seconds) + Double(searchTime.components.attoseconds) / 1e18
let precision = Double(correct) / Double(max(predicted, 1))
let recall = Double(correct) / Double(max(present, 1))
print(
    String(
        format:
            "matching: %d records, %d queries (%d of people in the records); match band precision %.4f recall %.4f; "
            + "potential-match band %d (%d right, %d many-matches); %.0f searches/s; index built in %@",
        records.rows.count, queries.rows.count, present, precision, recall, potential, potentialRight, manyMatches,
        Double(queries.rows.count) / seconds, "\(indexTime)"))
print(String(format: "MATCHING precision=%.4f recall=%.4f", precision, recall))
