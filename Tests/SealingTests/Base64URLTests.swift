import Foundation
import Testing

@testable import Sealing

@Suite("base64url")
struct Base64URLTests {
    @Test("matches Foundation's base64 with the URL alphabet and no padding, for every length 0...64")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(Substring(expected)) == bytes)
        }
    }

    @Test("RFC 7515 appendix C example")
    func rfcExample() {
        #expect(Base64URL.encode([3, 236, 255, 224, 193]) == "A-z_4ME")
    }

    @Test("refuses padding, the standard alphabet's + and /, impossible lengths and non-canonical endings")
    func refuses() {
        for bad in ["A-z_4ME=", "A+z/4ME", "A", "AAAAA", "A-z_4MF", "AB=C", "é"] {
            #expect(Base64URL.decode(Substring(bad)) == nil, "accepted \(bad)")
        }
    }
}
