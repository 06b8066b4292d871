import Foundation
import Testing

@testable import MASHCore

/// The byte-level CTF reader against `XMLParser` (the reader it stands in front of): on thousands of messy
/// files, `SchoolRoll(ctf:)` gives exactly what `XMLParser` alone gives, the same pupils (line numbers in the
/// locators included) or the same refusal, and the byte-level reader reads most well-formed files itself.
@Suite("Roll CTF reader: the same pupils and the same refusals as XMLParser")
struct RollCTFReaderTests {
    static func outcome(_ body: () throws -> SchoolRoll) -> String {
        do {
            return "\(try body())"
        } catch {
            return "refused: \(error)"
        }
    }

    /// A random CTF file with the faults, oddities and mess of real exports and of broken XML.
    static func messyFile(_ random: inout some RandomNumberGenerator) -> [UInt8] {
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }
        // Half the files are well made: every value good, no fault, only the oddities a good export may have.
        let messy = chance(0.5)
        func fault(_ p: Double) -> Bool { messy && chance(p) }
        let newline = chance(0.2) ? "\r\n" : "\n"
        /// Whitespace between tags: mostly a newline and indent, sometimes nothing.
        func gap() -> String {
            chance(0.2) ? "" : newline + String(repeating: " ", count: Int.random(in: 0..<6, using: &random))
        }
        func value(_ pool: [String]) -> String {
            var text = messy ? pick(pool) : pool[0]
            if chance(0.03) { text = pick(["&amp;", "&#233;", "&#x41;", "&lt;", "&quot;&apos;&gt;"]) + text }
            if fault(0.02) { text += pick(["&bogus;", "&#0;", "&#+65;", "&#X41;", "&", "]]>", "<![CDATA[x]]>"]) }
            if chance(0.02), text.count > 2 {
                text.insert(contentsOf: "<!-- note -->", at: text.index(after: text.startIndex))
            }
            if fault(0.02) { text += "<b/>tail" }
            if fault(0.02) { text = newline + "  " + text + newline }
            return text
        }
        func element(_ name: String, _ pool: [String]) -> String {
            if fault(0.03) { return "" }
            if fault(0.02) { return "<\(name)/>" }
            var open =
                chance(0.03)
                ? pick(["\(name) id=\"1\"", "\(name)\(newline)  a='x&amp;y'", "\(name)  ", "\(name)\(newline)"]) : name
            if fault(0.02) {
                open = pick([
                    "\(name) a=\"1\" a=\"2\"", "\(name) a=\"<\"", "\(name)a=\"1\"", "\(name) a=1", "\(name) a=\"&\"",
                ])
            }
            let close = fault(0.02) ? pick(["\(name)x", "\(name) ", ""]) : name
            return "<\(open)>\(value(pool))</\(close)>"
        }
        var text = chance(0.05) ? "\u{FEFF}" : ""
        text += pick([
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<?xml version='1.0'?>", "",
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>",
            "<?xml version = \"1.0\"  encoding='UTF-8' ?>", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
        ])
        if fault(0.1) {
            text = pick([
                "<?xml version=\"1.1\"?>", "<?xml encoding=\"UTF-8\" version=\"1.0\"?>", " <?xml version=\"1.0\"?>",
                "<?xml version=\"1.0\"encoding=\"UTF-8\"?>", "<?xml?>",
            ])
        }
        if chance(0.05) {
            text += newline + pick(["<!-- exported -->", "<?pi x?>", "<!DOCTYPE CTfile>", "<!-- a -- b -->"])
        }
        text += newline + (fault(0.06) ? "<CTFile>" : fault(0.04) ? "<ct:CTfile>" : "<CTfile>")
        var header = gap() + "<Header>"
        var parts = [
            gap() + element("DocumentQualifier", ["partial", "full", " Partial ", "FULL", "weekly", ""]),
            gap() + "<SourceSchool>" + element("LEA", ["887"])
                + element("URN", [pick(["990001", " 990001 "]), "", "990002"])
                + "</SourceSchool>",
            gap() + element("DocumentName", ["Common Transfer File"]),
        ]
        parts.shuffle(using: &random)
        header += parts.joined() + gap() + "</Header>"
        var pupils = gap() + "<CTFpupilData>"
        for _ in 0..<Int.random(in: 0..<5, using: &random) {
            var fields = [
                element("UPN", [pick(["D887990126002", "d887990126002", "", "X99999999999A"]), "bad"]),
                element("Surname", [pick(["Khan", " o'brien ", "Carter  Smith", "Zoë", "Jean-Luc"]), ""]),
                element("Forename", [pick(["Ben", " Amy\t", "ELLIE"]), ""]),
                element("DOB", [pick(["2018-05-05", "05/05/2018", " 2018-05-05 "]), "2018-02-30", "", "yesterday"]),
                element("Gender", [pick(["M", "f", "", "x"])]),
                "<BasicDetails>" + element("NCyearActual", [pick(["3", "r", "", "ß"])]) + "</BasicDetails>",
                "<Address><BS7666Address>"
                    + element(pick(["PostCode", "Postcode"]), [pick(["me4 4aa", "", "ME7  1AA"])])
                    + "</BS7666Address></Address>",
                "<Contacts><Contact>" + element("Surname", ["Other"]) + "</Contact></Contacts>",
            ]
            if chance(0.05) {
                fields.append(element(pick(["UPN", "Surname", "DOB"]), ["N887000000001", "Smith", "2017-01-01"]))
            }
            var history = "<SchoolHistory>"
            for _ in 0..<Int.random(in: (messy ? 0 : 1)..<4, using: &random) {
                history +=
                    gap() + "<School>" + element("URN", [pick(["990001", "990009", " 990001 ", ""])])
                    + element("EntryDate", [pick(["2022-09-07", "07/09/2022"]), "", "2022-9-7"])
                    + element("LeavingDate", [pick(["", "2026-11-20"]), "soon"])
                    + element("LeavingReason", [pick(["", "Home education", "moved  away"])])
                    + element("DestinationURN", [pick(["", "100001", "home education"])]) + "</School>"
            }
            fields.append(history + gap() + "</SchoolHistory>")
            fields.shuffle(using: &random)
            let open =
                chance(0.05)
                ? pick(["Pupil id=\"7\"", "Pupil\(newline)", "Pupil\(newline)  id='1'\(newline)"]) : "Pupil"
            pupils += gap() + "<\(open)>" + fields.map { gap() + $0 }.joined() + gap() + "</Pupil>"
        }
        pupils += gap() + "</CTFpupilData>"
        text += fault(0.2) ? pupils + header : header + pupils
        text += newline + "</CTfile>"
        if chance(0.05) { text += newline + pick(["<!-- end -->", "<?pi?>", "  "]) }
        if fault(0.05) { text += newline + pick(["trailing", "<CTfile/>", "<!-- a -- b -->"]) }
        if chance(0.5) { text += newline }
        var bytes = Array(text.utf8)
        if fault(0.06), !bytes.isEmpty {
            bytes.insert(
                pick([0x0D, 0x01, 0xFF, 0xC3, 0x7F, 0x00]), at: Int.random(in: 0..<bytes.count, using: &random))
        }
        return bytes
    }

    @Test("random messy files: identical pupils or identical refusals; most read without XMLParser")
    func againstXMLParser() {
        var random = SeededGenerator(seed: 20_261_129)
        var refused = 0
        var readByBytes = 0
        let files = 4000
        for _ in 0..<files {
            let file = Self.messyFile(&random)
            try! Data(file).write(to: URL(fileURLWithPath: "/tmp/ctf-current.xml"))
            let expected = Self.outcome { try SchoolRoll(xmlParsing: file, source: "r.xml") }
            let actual = Self.outcome { try SchoolRoll(ctf: file, source: "r.xml") }
            #expect(actual == expected, "\(String(decoding: file, as: UTF8.self))")
            if expected.hasPrefix("refused") { refused += 1 }
            if file.withUnsafeBufferPointer({ RollCTFReader.read($0, source: "r.xml") }) != nil { readByBytes += 1 }
            if actual != expected { break }
        }
        // Both kinds of file were tried, in numbers, and the byte-level reader read nearly every roll accepted.
        #expect(refused > 800 && refused < 3200)
        #expect(readByBytes > (files - refused) * 8 / 10)
    }

    @Test("a pupil's line is the line its start tag ends on, as libxml2 counts (CRLF once)")
    func lines() throws {
        let file =
            "<CTfile><Header><DocumentQualifier>full</DocumentQualifier><SourceSchool><URN>1</URN></SourceSchool></Header>\r\n<CTFpupilData>\n<Pupil\r\n id=\"1\"\n><Surname>A</Surname><Forename>B</Forename><DOB>2018-05-05</DOB><SchoolHistory><School><EntryDate>2022-09-07</EntryDate></School></SchoolHistory></Pupil></CTFpupilData></CTfile>"
        let roll = try #require(Array(file.utf8).withUnsafeBufferPointer { RollCTFReader.read($0, source: "r.xml") })
        #expect(roll.pupils.map(\.locator) == ["Pupil[1] (line 5)"])
        #expect(try SchoolRoll(xmlParsing: Array(file.utf8), source: "r.xml") == roll)
    }

    /// Two files that crashed the process inside Foundation's `XMLParser` on Linux (a null `strlen`; a name that
    /// is not UTF-8 made a `String`): a roll message carrying one would have brought the coordinator down.
    @Test("files that crash XMLParser are read or refused, naming the line, and the process lives")
    func xmlParserCrashers() throws {
        let good = SchoolRollTests.ctf.replacingOccurrences(of: "<CTfile>", with: "<?sims?><CTfile><?export?>")
        let roll = try SchoolRoll(ctf: Array(good.utf8), source: "r.xml")
        #expect(roll.pupils.count == 1 && roll.urn == "990001")
        let broken = good.replacingOccurrences(of: "</Forename>", with: "")
        #expect {
            try SchoolRoll(ctf: Array(broken.utf8), source: "r.xml")
        } throws: { ($0 as? DocumentError)?.problem.contains("not well-formed XML") == true }
        var notUTF8 = Array(SchoolRollTests.ctf.utf8)
        let at = try #require(notUTF8.firstRange(of: Array("<Gender>".utf8)))
        notUTF8.insert(0xFF, at: at.lowerBound + 3)
        #expect {
            try SchoolRoll(ctf: notUTF8, source: "r.xml")
        } throws: {
            let error = $0 as? DocumentError
            return error?.field == "line 11" && error?.problem.hasPrefix("is not UTF-8 (column 10)") == true
        }
        let utf16 = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>" + SchoolRollTests.ctf.dropFirst(38)
        var mislabelled = Array(utf16.utf8)
        mislabelled.insert(0xFF, at: try #require(mislabelled.firstRange(of: Array("<Gender>".utf8))).lowerBound + 3)
        #expect(throws: DocumentError.self) { try SchoolRoll(ctf: mislabelled, source: "r.xml") }
        let latin1 = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>" + SchoolRollTests.ctf.dropFirst(38)
        var declared = Array(
            latin1.replacingOccurrences(of: "Khan</Surname><Forename>", with: "Kh_n</Surname><Forename>").utf8)
        declared[try #require(declared.firstIndex(of: UInt8(ascii: "_")))] = 0xE9
        #expect(try SchoolRoll(ctf: declared, source: "r.xml").pupils.first?.surname == "Khén")
    }
}
