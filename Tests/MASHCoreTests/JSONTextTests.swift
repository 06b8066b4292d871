import Foundation
import Testing

@testable import JSONText
@testable import MASHCore

@Suite("JSON as the protocol speaks it")
struct JSONTextTests {
    static let sample = """
        {"schema":"mash.enquiry/1","rag":"red","count":42,"ratio":0.25,"big":1e20,"flag":true,"off":false,
         "none":null,"list":[1,"two",{"three":[]}],"text":"a \\"quoted\\" line\\nwith é, 😀, \\u00e9, \\ud83d\\ude00 and a\\/slash",
         "nested":{"deep":{"deeper":{}}}, "negative": -7, "exp": 2.5E-3}
        """

    @Test("reads what Foundation reads, to the same values")
    func readsLikeFoundation() throws {
        let ours = try JSONText.parse(Array(Self.sample.utf8)) as! NSDictionary
        let theirs = try JSONSerialization.jsonObject(with: Data(Self.sample.utf8)) as! NSDictionary
        #expect(ours == theirs)
        let flag = try #require((ours["flag"] as? NSNumber))
        #expect(String(cString: flag.objCType) == "c")
    }

    @Test("what it writes, Foundation reads back as the same document; names in code-point order")
    func writesWhatFoundationReads() throws {
        let document: [String: Any] = [
            "requestedAt": "2026-11-23T14:05:00Z", "requestID": "r-1", "article10": 1, "article6": true,
            "x-mash-rag": "red", "x_y": NSNull(), "ratio": 0.5, "whole": 2.0, "list": [1, "a/b", ["k": "v"]],
            "text": "tab\there \"q\" \\ \u{1} é",
        ]
        let written = JSONText.encode(document)
        let back = try JSONSerialization.jsonObject(with: Data(written)) as! NSDictionary
        #expect(back == (document as NSDictionary))
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.hasPrefix(#"{"article10":1,"article6":true,"list":[1,"a/b",{"k":"v"}],"ratio":0.5,"#))
        #expect(text.contains(#""whole":2,"x-mash-rag":"red","x_y":null}"#))
        #expect(text.contains(#""requestID":"r-1","requestedAt""#))
        #expect(text.contains(#"\u0001"#))
    }

    @Test(
        "refused, saying what and where",
        arguments: [
            (#"{"rag":"green","rag":"red"}"#, "the member 'rag' appears twice", 1, 16),
            ("{\"a\":1,\n \"b\":2,\n \"a\":3}", "the member 'a' appears twice", 3, 2),
            (#"{"a":1,}"#, "expected a member name in quotes", 1, 8),
            (#"{"a":01}"#, "expected ',' or '}'", 1, 7),
            (#"{"a":"\ud800"}"#, "a lone surrogate in a \\u escape", 1, 13),
            ("{\"a\":\"line\nbreak\"}", "a control character inside a string must be escaped", 1, 11),
            (#"{"a":1} x"#, "unexpected text after the document", 1, 9),
            (#"{"a":tru}"#, "expected a value", 1, 6),
            (#"{"a":1"#, "the document ends too soon", 1, 7),
            (#"{"a":"\q"}"#, "an unknown escape in a string", 1, 8),
        ])
    func refused(_ text: String, _ problem: String, _ line: Int, _ column: Int) {
        #expect(throws: JSONSyntaxError(problem: problem, line: line, column: column)) {
            try JSONText.parse(Array(text.utf8))
        }
    }

    @Test("nesting deeper than 64 is refused; 64 is read")
    func depth() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        _ = try JSONText.parse(Array(ok.utf8))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONSyntaxError.self) { try JSONText.parse(Array(deep.utf8)) }
    }

    @Test("bytes that are not UTF-8 are refused")
    func notUTF8() {
        #expect(throws: JSONSyntaxError.self) { try JSONText.parse([34, 0xFF, 34]) }
    }

    @Test("a duplicated member in a document is refused naming it, not read as the last one")
    func duplicateInDocument() {
        let text = #"{"schema":"mash.enquiry/1","rag":"green","rag":"red"}"#
        #expect {
            try DocumentReader(json: Array(text.utf8), source: "test")
        } throws: { error in
            let problem = (error as? DocumentError)?.problem ?? ""
            return problem.hasPrefix("not valid JSON: the member 'rag' appears twice at line 1")
        }
    }
}

@Suite("Trimming as documents read strings")
struct TrimmingTests {
    @Test("trims what Foundation's whitespacesAndNewlines trims, and nothing inside")
    func trimsLikeFoundation() {
        for text in [
            "", " ", "a", " a ", "\t\n a b \r\n", "\u{00A0}x\u{2028}", "\u{3000}全角\u{3000}", "x\u{85}", "no-trim",
            "\u{200B}zero-width\u{200B}", "é ",
        ] {
            #expect(
                text.trimmingWhitespace == text.trimmingCharacters(in: .whitespacesAndNewlines),
                "\(text.debugDescription)")
        }
    }
}
