import Foundation
import MASHCore

/// Matching quality on a labelled set (scripts/synthetic-extracts.py --labelled N): each query is searched in
/// the records and counted by `MatchTally` (as `mashctl match --labelled` counts): precision of the match band
/// is the share of its predictions that name the right record, recall the share of queries whose person is in
/// the records that it names rightly. Also reports the potential-match band and the search rate. With a second
/// argument, writes each query's best candidate there (truth,record,score,never,match_at: never is 1 when the
/// candidate cannot be a match whatever the threshold, as a many-match or a twin) for
/// scripts/ecm-linker.py to compare at equal precision.
let arguments = CommandLine.arguments
/// `--comparisons FILE` instead writes every blocked pair's field-by-field comparison, with the truth, for
/// scripts/tune-matching.py.
guard arguments.count == 2 || arguments.count == 3 || arguments.count == 4 && arguments[2] == "--comparisons" else {
    print("usage: matching-bench <folder with records.csv and queries.csv> [per-query.csv | --comparisons FILE]")
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

if arguments.count == 4 {
    func level<T: RawRepresentable<Int>>(_ value: T?) -> String { value.map { "\($0.rawValue)" } ?? "" }
    var lines = "query,truth,forename,surname,swapped,dob,postcode,sex\n"
    for (number, row) in queries.rows.enumerated() {
        let truth = Int(row.values[0])
        for (id, c) in index.compared(person(row, queries.columns)) {
            lines += "\(number),\(id == truth ? 1 : 0),\(level(c.forename)),\(level(c.surname)),"
            lines += "\(c.namesSwapped ? 1 : 0),\(level(c.dateOfBirth)),\(level(c.postcode)),"
            lines += "\(c.sexAgrees.map { $0 ? "1" : "0" } ?? "")\n"
        }
    }
    try lines.write(toFile: arguments[3], atomically: true, encoding: .utf8)
    exit(0)
}

var tally = MatchTally()
let matcher = IdentityMatcher()
var perQuery = "truth,record,score,never,match_at\n"
let searchStart = clock.now
for row in queries.rows {
    let found = index.search(person(row, queries.columns), matcher: matcher)
    tally.add(best: found.first.map { ($0.id, $0.assessment) }, truth: Int(row.values[0]))
    if arguments.count == 3 {
        let best = found.first
        perQuery += "\(row.values[0]),\(best.map { "\($0.id)" } ?? ""),\(best?.assessment.score ?? 0),"
        let never = best.map {
            $0.assessment.manyMatch || $0.assessment.band != .match && $0.assessment.score >= matcher.matchAt
        }
        perQuery += "\(never == true ? 1 : 0),\(matcher.matchAt)\n"
    }
}
let searchTime = clock.now - searchStart
if arguments.count == 3 { try perQuery.write(toFile: arguments[2], atomically: true, encoding: .utf8) }
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
