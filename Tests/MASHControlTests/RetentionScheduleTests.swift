import Foundation
import MASHConfig
import MASHCore
import MASHTesting
import Testing

@Suite("The retention schedule: every kind of record with a period, an event and a reason")
struct RetentionScheduleTests {
    static let shipped = Repository.root + "/Config/retention.yaml"

    static func yaml(replacing kind: String = "", with entry: String = "") throws -> String {
        let text = try String(contentsOfFile: shipped, encoding: .utf8)
        guard !kind.isEmpty else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.firstIndex(of: "  \(kind):")!
        var end = start + 1
        while end < lines.count, lines[end].hasPrefix("    ") { end += 1 }
        lines.replaceSubrange(start..<end, with: entry.isEmpty ? [] : ["  \(kind): \(entry)"])
        return lines.joined(separator: "\n")
    }

    @Test("the shipped schedule reads, covers every kind, and says its periods are placeholders")
    func shipped() throws {
        let schedule = try RetentionSchedule.load(file: Self.shipped)
        #expect(Set(schedule.rules.keys) == Set(RetentionSchedule.Kind.allCases))
        #expect(schedule.approval == nil)
        #expect(schedule.interval == 24 * 3600)
        #expect(schedule.rule(.enquiries).period == .init(count: 6, unit: .years))
        #expect(schedule.rule(.enquiries).from == .closure)
        #expect(schedule.rule(.openCases).from == .lastUpdate)
        #expect(schedule.rules.values.allSatisfy { !$0.reason.isEmpty })
        #expect(try String(contentsOfFile: Self.shipped, encoding: .utf8).contains("THESE PERIODS ARE PLACEHOLDERS"))
    }

    @Test("calendar periods end on the same date, across a clock change")
    func periods() throws {
        let start = try #require(Instant.parse("2026-03-20T10:00:00Z"))
        #expect(Instant.format(RetentionSchedule.Period("2y")!.end(from: start)) == "2028-03-20T10:00:00Z")
        // The clocks go forward on 29 March 2026: ten calendar days later is 09:00 UTC, still 10:00 in London.
        #expect(Instant.format(RetentionSchedule.Period("10d")!.end(from: start)) == "2026-03-30T09:00:00Z")
        #expect(Instant.format(RetentionSchedule.Period("2w")!.cutoff(at: start)) == "2026-03-06T10:00:00Z")
        #expect(Instant.format(RetentionSchedule.Period("90s")!.cutoff(at: start)) == "2026-03-20T09:58:30Z")
        #expect(RetentionSchedule.Period("0d") == nil)
        #expect(RetentionSchedule.Period("6 years") == nil)
    }

    @Test(
        "a wrong schedule is refused with its file, line and key",
        arguments: [
            ("dans", "", "'records.dans': is required"),
            ("dans", "{period: 6 years, from: receipt, reason: x}", "'records.dans.period': '6 years' is not a period"),
            (
                "dans", "{period: 6y, from: closure, reason: x}",
                "'records.dans.from': 'closure' is not an event for dans"
            ),
            ("dans", "{period: 6y, from: receipt, reason: ' '}", "'records.dans.reason': must say why"),
            ("dans", "{period: 6y, from: receipt, reason: x, purge: yes}", "'records.dans.purge': is not a known key"),
            ("inboxIDs", "{period: 48h, from: receipt, reason: x}", "'records.inboxIDs.period': must be at least 72h"),
        ])
    func refused(kind: String, entry: String, expected: String) throws {
        let yaml = try Self.yaml(replacing: kind, with: entry)
        let error = #expect(throws: ConfigurationError.self) {
            try RetentionSchedule(yaml: yaml, file: "retention.yaml")
        }
        let text = String(describing: error!)
        #expect(text.hasPrefix("retention.yaml:"), "\(text)")
        #expect(text.contains(expected), "\(text)")
    }
}
