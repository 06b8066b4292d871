import ArgumentParser
import Foundation
import MASHConfig
import MASHCore
import MASHReadModel

/// `mashctl retention`: what the retention schedule keeps, and when it goes.
struct Retention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The retention schedule: what is kept, for how long, and what goes when.",
        subcommands: [Report.self])

    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List each kind of record: its period and reason, how many the hub holds, and when they go.",
            discussion: """
                Counts and dates only, never content. DUE NOW are records already past their period: the \
                coordinator purges them at its next daily run, so more than a day's worth means the purge is not \
                running (see its log). Records kept by adapters and desks are purged by those services from the \
                same schedule; they are listed with their period and holder. The record of sharing is listed with \
                its own, longer period.

                Examples:
                  mashctl retention report
                  mashctl retention report --within 90d --json
                """)

        @Option(help: "The retention schedule.")
        var schedule = "Config/retention.yaml"

        @Option(help: "How far ahead 'NEXT' looks (72h, 30d, 6w, 1y).")
        var within = "30d"

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        struct Line: Encodable {
            var kind: RetentionSchedule.Kind
            var period: String
            var from: String
            var reason: String
            var holder: String
            var held: Int?
            var dueNow: Int?
            var dueWithin: Int?
            var nextDue: Date?
        }

        func run() throws {
            let schedule = try RetentionSchedule.load(file: self.schedule)
            guard let horizon = RetentionSchedule.Period(within) else {
                throw ValidationError("--within '\(within)' is not a period (for example 72h, 30d, 6w, 1y)")
            }
            let now = Date()
            let counts = try storeOption.open().retention(
                schedule, now: now, horizon: horizon.end(from: now).timeIntervalSince(now))
            let lines = RetentionSchedule.Kind.allCases.map { kind in
                let rule = schedule.rule(kind)
                let count = counts.first { $0.kind == kind }
                return Line(
                    kind: kind, period: rule.period.description, from: rule.from.rawValue, reason: rule.reason,
                    holder: kind.holder, held: count?.held, dueNow: count?.due, dueWithin: count?.dueSoon,
                    nextDue: count?.nextDue)
            }
            if json {
                struct Output: Encodable {
                    var schedule: String
                    var approved: String?
                    var within: String
                    var records: [Line]
                }
                try JSONOutput.write(
                    Output(schedule: self.schedule, approved: schedule.approval, within: within, records: lines))
                return
            }
            print(
                "Retention schedule \(self.schedule): "
                    + (schedule.approval.map { "approved by \($0)" }
                        ?? "PLACEHOLDER periods, not yet approved by a DPO"))
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "Europe/London")
            formatter.dateFormat = "yyyy-MM-dd HH:mm"
            print(
                Format.row([
                    ("KIND", -17), ("PERIOD", -7), ("FROM", -12), ("HELD", 7), ("DUE NOW", 8), ("NEXT \(within)", 9),
                    ("NEXT GOES", -17), ("HOLDER", -14),
                ]))
            for line in lines {
                let cells: [(String, Int)] = [
                    (line.kind.rawValue, -17), (line.period, -7), (line.from, -12),
                    (line.held.map(String.init) ?? "-", 7),
                    (line.dueNow.map(String.init) ?? "-", 8), (line.dueWithin.map(String.init) ?? "-", 9),
                    (line.nextDue.map { formatter.string(from: $0) } ?? "-", -17), (line.holder, -14),
                ]
                print(Format.row(cells))
            }
            print("\nWhy each is kept:")
            for line in lines { print("  \(line.kind.rawValue): \(line.reason)") }
        }
    }
}
