import Foundation
import Testing

@testable import MASHCore

@Suite("Instants on the wire (RFC 3339)")
struct InstantTests {
    @Test("format and parse agree with Foundation's ISO 8601 formatter over two centuries of instants")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var generator = SystemRandomNumberGenerator()
        // 1900-01-01 to 2100-01-01, plus the edges of leap days and the epoch.
        var instants: [Double] = [0, -1, 951_782_400, 951_868_799, 4_107_542_399, -2_208_988_800]
        for _ in 0..<5000 {
            instants.append(Double(Int64.random(in: -2_208_988_800...4_102_444_800, using: &generator)))
        }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            let ours = Instant.format(date)
            #expect(ours == formatter.string(from: date))
            #expect(Instant.parse(ours) == date)
        }
    }

    @Test("zones and fractions are read as Foundation reads them")
    func zonesAndFractions() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        for text in ["2026-11-23T14:05:00+01:00", "2026-11-23T14:05:00-05:30", "2024-02-29T23:59:59Z"] {
            #expect(Instant.parse(text) == formatter.date(from: text), "\(text)")
        }
        let fractional = try #require(Instant.parse("2026-11-23T14:05:00.250Z"))
        #expect(fractional.timeIntervalSince1970 == 1_795_442_700.25)
    }

    @Test(
        "a day the month lacks, hour 24, a leap second, a missing zone or trailing text is refused",
        arguments: [
            "2026-02-29T10:00:00Z", "2026-04-31T10:00:00Z", "2026-11-23T24:00:00Z", "2026-11-23T23:59:60Z",
            "2026-11-23T14:05:00", "2026-11-23 14:05:00Z", "2026-11-23T14:05:00Zjunk", "2026-11-23T14:05Z",
            "2026-13-01T00:00:00Z", "2026-11-23T14:05:00.Z", "2026-11-23T14:05:00+0100", "", "26-11-23T14:05:00Z",
        ])
    func refused(_ text: String) {
        #expect(Instant.parse(text) == nil)
    }
}
