import ArgumentParser
import Foundation
import MASHAgency
import MASHCore

/// `mashctl match`: an agency's certification run. Searches its own extract with its configured matcher, offline,
/// for the people in a file, exactly as its adapter would for an enquiry, and with a labelled file says how often
/// each band is right.
struct Match: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an agency's extract and matcher offline on a file of people (its certification run).",
        discussion: """
            Each line of the query file is one JSON object: a person with the members an enquiry's subject has \
            (forename, surname, otherNames, dateOfBirth, gender, nhsNumber, upn, pncID, address, postcode) and an \
            optional "id" naming the query (default: its line number). Only the fields the agency's 'receives:' \
            lists are used, as in a real enquiry. A line that is not such an object is refused, naming its line and \
            member, and nothing is searched.

            One JSON line is printed per query: its id, the band of the best record found (match, potential-match \
            or no-match), the score (0 to 1), whether several records matched as strongly (manyMatch: the adapter \
            then never reports a match), the record's key (its 'key:' column, or its row number in the extract) and \
            how many records were candidates. The record's content is printed only with --show.

            --labelled names a CSV file with the columns 'query' and 'record': for each query id, the key of the \
            record that is truly that person, or empty when the person is not in the extract. After the lines, \
            precision and recall per band go to standard error. Before going live, an agency runs this on a \
            labelled sample of its own records (deploy/README.md, "Onboarding an agency").

            Examples:
              mashctl match --config Config/agencies/health.yaml --query people.jsonl
              mashctl match --config Config/agencies/health.yaml --query people.jsonl --labelled truth.csv
            """)

    @Option(help: "The agency's configuration file (its research backend must be csv or sqlite).")
    var config: String

    @Option(help: "The people to search for: JSON lines.")
    var query: String

    @Option(help: "CSV with columns 'query' and 'record': the true record of each query (empty: not in the extract).")
    var labelled: String?

    @Flag(help: "Also print the content of the best record (the columns the agency's configuration uses).")
    var show = false

    func run() throws {
        let configuration = try AdapterConfiguration.load(file: config, checkingKeys: false)
        guard case .extract(let extract) = configuration.backend else {
            throw CommandFailure(
                "\(config): the research backend is \(configuration.backendSummary); mashctl match runs only the "
                    + "built-in matcher on a csv or sqlite extract")
        }
        let queries = try MatchQuery.read(file: query, receives: configuration.receives)
        let truth = try labelled.map { try MatchQuery.labels(file: $0, queries: queries) }
        let records = try ExtractRecords.load(extract)
        var tally = MatchTally()
        var output: [UInt8] = []
        for query in queries {
            let candidates = records.index.search(query.person, matcher: extract.matcher)
            let best = candidates.first.map { (records.key(ofRecord: $0.id, column: extract.key), $0) }
            var line: [String: Any] = [
                "query": query.id, "band": best?.1.assessment.band.rawValue ?? MatchBand.noMatch.rawValue,
                "candidates": candidates.count,
            ]
            if let (key, candidate) = best {
                line["score"] = candidate.assessment.score
                line["manyMatch"] = candidate.assessment.manyMatch
                line["record"] = key
                if show { line["content"] = content(records.rows[candidate.id], extract) }
            }
            if let truth {
                let expected = truth[query.id] ?? nil
                line["expected"] = expected ?? NSNull()
                tally.add(best: best.map { ($0.0, $0.1.assessment) }, truth: expected)
            }
            output += JSONText.encode(line) + [0x0A]
            if output.count > 1 << 16 {
                StandardStreams.write(output)
                output.removeAll(keepingCapacity: true)
            }
        }
        StandardStreams.write(output)
        if truth != nil { StandardStreams.note(Self.report(tally)) }
    }

    private func content(_ row: [String: String], _ extract: AdapterConfiguration.Extract) -> [String: String] {
        let columns =
            Array(extract.columns.values) + extract.discloses.map(\.column)
            + [extract.key, extract.recordedOn].compactMap { $0 }
        return row.filter { columns.contains($0.key) }
    }

    /// The table printed after a labelled run.
    static func report(_ tally: MatchTally) -> String {
        func figure(_ value: Double) -> String { String(format: "%.4f", value) }
        var lines = [
            "\(tally.queries) queries, \(tally.present) of people in the extract",
            "band              predicted   right   many   precision   recall",
        ]
        for band in [MatchBand.match, .potentialMatch] {
            let counts = tally.band(band)!
            lines.append(
                band.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%11d %7d %6d", counts.predicted, counts.right, counts.manyMatches)
                    + "   " + figure(counts.precision).leftPadded(9) + "   " + figure(tally.recall(band)).leftPadded(6))
        }
        lines.append(
            "no-match          \(tally.noMatchRight + tally.noMatchMissed) (\(tally.noMatchRight) not in the extract, "
                + "\(tally.noMatchMissed) missed)")
        return lines.joined(separator: "\n")
    }
}

/// One line of a query file.
struct MatchQuery {
    var id: String
    var person: Person

    /// Every line, or an error naming each line that is refused (the first twenty).
    static func read(file: String, receives: Set<Person.Field>) throws -> [MatchQuery] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("cannot read the query file \(file)")
        }
        var queries: [MatchQuery] = []
        var problems: [String] = []
        var ids: [String: Int] = [:]
        for (offset, text) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            guard text.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) else { continue }
            do {
                var reader = try DocumentReader(json: Array(text), source: "\(file) line \(line)")
                let id = try reader.optionalString("id") ?? String(line)
                let person = try Person(reading: &reader)
                try reader.finish()
                if let first = ids.updateValue(line, forKey: id) {
                    throw CommandFailure("\(file) line \(line): the id '\(id)' is also on line \(first)")
                }
                queries.append(MatchQuery(id: id, person: person.keeping(receives)))
            } catch {
                problems.append("\(error)")
            }
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n")
            let more = problems.count > 20 ? "\n… and \(problems.count - 20) more" : ""
            throw CommandFailure(
                "\(shown)\(more)\n\(problems.count) line(s) of \(file) refused; nothing was searched")
        }
        return queries
    }

    /// The labelled record of every query (nil: not in the extract); every query must be labelled once.
    static func labels(file: String, queries: [MatchQuery]) throws -> [String: String?] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure("cannot read the labelled file \(file)")
        }
        let table = try CSVTable(parsing: Array(data), source: file)
        guard let queryColumn = table.column("query"), let recordColumn = table.column("record") else {
            throw CommandFailure("\(file): needs the columns 'query' and 'record' (it has \(table.columns))")
        }
        let known = Set(queries.map(\.id))
        var labels: [String: String?] = [:]
        for row in table.rows {
            let id = row.values[queryColumn].trimmingSpaces
            let record = row.values[recordColumn].trimmingSpaces
            guard known.contains(id) else {
                throw CommandFailure("\(file) line \(row.line): field 'query': no query has the id '\(id)'")
            }
            guard labels.updateValue(record.isEmpty ? nil : record, forKey: id) == nil else {
                throw CommandFailure("\(file) line \(row.line): field 'query': '\(id)' is labelled twice")
            }
        }
        if let unlabelled = queries.first(where: { labels[$0.id] == nil }) {
            throw CommandFailure("\(file): the query '\(unlabelled.id)' has no label")
        }
        return labels
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
