import Foundation
import Testing

@testable import MASHCore

/// The byte-level roll reader against the reader it replaced (`CSVTable` then `RollFields`, kept here as the
/// reference): on thousands of messy files, both give the same pupils or refuse with the same message.
@Suite("Roll CSV reader: the same pupils and the same refusals as the table reader")
struct RollCSVReaderTests {
    static func reference(_ bytes: [UInt8], source: String) throws -> [RollPupil] {
        let table = try CSVTable(parsing: bytes, source: source)
        var index: [String: Int] = [:]
        for (position, column) in table.columns.enumerated() {
            guard let known = SchoolRoll.csvColumns.first(where: { CSVTable.sameColumn($0, column) }) else {
                throw DocumentError(
                    source: source, field: "line 1",
                    problem: "unknown column '\(column)' (known: \(SchoolRoll.csvColumns.joined(separator: ", ")))")
            }
            index[known] = position
        }
        for required in SchoolRoll.csvColumns.prefix(5) where index[required] == nil {
            throw DocumentError(
                source: source, field: "line 1", problem: "the required column '\(required)' is missing")
        }
        return try table.rows.map { row in
            var fields = RollFields(locator: "line \(row.line)", source: source)
            for (name, position) in index { fields.values[name] = row.values[position] }
            return try fields.pupil()
        }
    }

    static func outcome(_ body: () throws -> [RollPupil]) -> String {
        do {
            return try body().map { "\($0)" }.joined(separator: "\n")
        } catch {
            return "refused: \(error)"
        }
    }

    /// A random roll file with the faults and mess partners' exports have.
    static func messyFile(_ random: inout some RandomNumberGenerator) -> [UInt8] {
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }
        var columns = SchoolRoll.csvColumns.shuffled(using: &random).filter { _ in chance(0.9) }
        if chance(0.05) { columns.append("Favourite") }
        if chance(0.2) { columns = columns.map { chance(0.3) ? " \($0.lowercased()) " : $0 } }
        if chance(0.1) { columns.insert(pick(columns), at: 0) }
        let newline = chance(0.3) ? "\r\n" : "\n"
        var text = (chance(0.1) ? "\u{FEFF}" : "") + columns.joined(separator: ",") + newline
        let values: [String: [String]] = [
            "UPN": ["A123456789012", "a12345678901 2", "", "X99999999999A", "N887000000001", "bad"],
            "Surname": [
                "Smith", "  o'brien ", "", "Carter  Smith", "\"Quoted, Name\"", "Zoë", "\"He said \"\"hi\"\"\"",
            ],
            "Forename": ["Ellie", "ELLIE", "", " Mia\t", "Jean-Luc", "\"multi\nline\""],
            "DOB": [
                "2016-03-14", "14/03/2016", "2016-3-4", "2016-02-30", "", "31/12/2015", "not a date", " 2016-03-14 ",
            ],
            "EntryDate": ["2021-09-02", "02/09/2021", "", "2021-9-2", "2021-13-01"],
            "Gender": ["f", "M", "", "x"],
            "YearGroup": ["r", "7", "", "10", "ß"],
            "LeavingDate": ["", "", "2026-11-20", "20/11/2026", "yesterday"],
            "LeavingReason": ["", "moved", "  moved   away "],
            "Destination": ["", "unknown", "100001"],
            "Postcode": ["me4 4aa", "", "ME7  1AA"],
            "Favourite": ["blue"],
        ]
        for _ in 0..<Int.random(in: 0..<6, using: &random) {
            if chance(0.08) { text += newline }
            var fields = columns.map {
                pick(values[$0.trimmingSpaces.capitalized] ?? values[$0.trimmingSpaces] ?? [""])
            }
            if chance(0.05) { fields.append("extra") }
            if chance(0.03), !fields.isEmpty { fields.removeLast() }
            if chance(0.02) { fields[0] = "ab\"c" }
            if chance(0.02) { fields[0] = "a\rb" }
            text += fields.joined(separator: ",") + newline
        }
        if chance(0.03) { text += "\"unclosed" }
        if chance(0.5), text.hasSuffix(newline) { text.removeLast(newline.count) }
        return Array(text.utf8)
    }

    @Test("random messy files: identical pupils or identical refusals")
    func againstReference() {
        var random = SeededGenerator(seed: 20_261_129)
        var refused = 0
        for _ in 0..<4000 {
            let file = Self.messyFile(&random)
            let expected = Self.outcome { try Self.reference(file, source: "r.csv") }
            let actual = Self.outcome {
                try SchoolRoll(csv: file, urn: "990001", qualifier: .full, source: "r.csv").pupils
            }
            #expect(actual == expected, "\(String(decoding: file, as: UTF8.self))")
            if expected.hasPrefix("refused") { refused += 1 }
            if actual != expected { break }
        }
        // Both kinds of file were tried, in numbers.
        #expect(refused > 400 && refused < 3600)
    }

    @Test("edge cases: a CRLF file, a CR inside a field, blank lines, a quoted empty line, a BOM")
    func edges() {
        let files = [
            "UPN,Surname,Forename,DOB,EntryDate\r\n,Smith,Ellie,2016-03-14,2021-09-02\r\n",
            "UPN,Surname,Forename,DOB,EntryDate\n,Sm\rith,Ellie,2016-03-14,2021-09-02\r",
            "\n\nUPN,Surname,Forename,DOB,EntryDate\n\n,Smith,Ellie,2016-03-14,2021-09-02\n\"\"\n",
            "\u{FEFF}UPN,Surname,Forename,DOB,EntryDate\n\"\",\"Smith\",Ellie,2016-03-14,2021-09-02",
            "UPN,Surname,Forename,DOB,EntryDate\n\r\"A123456789012\",Smith,Ellie,2016-03-14,2021-09-02\n",
            "",
            "\n\n",
        ]
        for file in files.map({ Array($0.utf8) }) {
            let expected = Self.outcome { try Self.reference(file, source: "r.csv") }
            #expect(
                Self.outcome { try SchoolRoll(csv: file, urn: "1", qualifier: .full, source: "r.csv").pupils }
                    == expected)
        }
    }
}

/// SplitMix64: the same sequence for a seed, so a failing file can be found again.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
