import ArgumentParser
import Foundation
import MASHCore
import MASHReadModel

/// `mashctl missing`: missing from home and care, as operators watch it.
struct Missing: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Missing from home and care: open episodes and return interviews due, by authority.",
        subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List open missing episodes and their return interviews, soonest due first.",
            discussion: """
                Shows each episode still open (missing, or found with its return interview due) and those concluded \
                in the last --days days: the episode id, state, police risk grading, the placing authority \
                ('medway' for the hub's own children), when the child was found, when the interview is due and the \
                time left, and how often a placing authority has been chased. No names: the Missing and \
                Exploitation Co-ordinator's desk shows the children. Below the list: interviews overdue by \
                authority, and the share held within the clock over the last 30 days.

                Exit status: 0 when no interview is overdue, 1 when any is (for a cron job or a monitor).

                Example:
                  mashctl missing list --authority la-kent
                """)

        @Option(help: "Only this placing authority's children (la-<code>), or 'medway' for the hub's own.")
        var authority: String?

        @Option(help: "Also list episodes concluded in this many days.")
        var days: Int = 7

        @OptionGroup var storeOption: StoreOption

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            let now = Date()
            let model = try storeOption.open()
            var episodes = try model.missingEpisodes(concludedSince: now.addingTimeInterval(-Double(days) * 86400))
            if let authority {
                episodes = episodes.filter { ($0.authority ?? "medway") == authority }
            }
            let overdue = episodes.filter { $0.overdue(at: now) }
            let share = try model.returnInterviewsHeldInTime(window: 30 * 86400, now: now)
            if json {
                struct Report: Encodable {
                    var episodes: [HubReadModel.MissingEpisodeLine]
                    var overdue: Int
                    var heldInTimeLast30Days: Double?
                }
                FileHandle.standardOutput.write(
                    Data(
                        try JSONOutput.encode(
                            Report(episodes: episodes, overdue: overdue.count, heldInTimeLast30Days: share))))
            } else {
                print(table(episodes, now: now))
                var byAuthority: [String: Int] = [:]
                for episode in overdue { byAuthority[episode.authority ?? "medway", default: 0] += 1 }
                print(
                    overdue.isEmpty
                        ? "No return interview is overdue."
                        : "Return interviews overdue: "
                            + byAuthority.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                                separator: ", "))
                print(
                    "Held within the clock, last 30 days: "
                        + (share.map { String(format: "%.0f%%", $0 * 100) } ?? "no interview was due"))
            }
            if !overdue.isEmpty { throw ExitCode(1) }
        }

        func table(_ episodes: [HubReadModel.MissingEpisodeLine], now: Date) -> String {
            guard !episodes.isEmpty else { return "No open missing episodes." }
            let formatter = DateFormatter()
            formatter.timeZone = TimeZone(identifier: "Europe/London")
            formatter.dateFormat = "yyyy-MM-dd HH:mm"
            var lines = [
                Format.row([
                    ("EPISODE", -36), ("STATE", -10), ("RISK", -17), ("AUTHORITY", -12), ("FOUND", -16),
                    ("INTERVIEW DUE", -16), ("LEFT", -14), ("CHASED", 6),
                ])
            ]
            for episode in episodes {
                let left: String
                switch episode.state {
                case MissingEpisode.State.concluded.rawValue:
                    left = episode.heldInTime ? "held in time" : (episode.response ?? "concluded")
                case MissingEpisode.State.missing.rawValue: left = "still missing"
                default: left = episode.interviewDue.map { Self.left(until: $0, now: now) } ?? "-"
                }
                lines.append(
                    Format.row([
                        (episode.episodeID, -36), (episode.state + (episode.reported ? "" : "*"), -10),
                        (episode.risk ?? "-", -17), (episode.authority ?? "medway", -12),
                        (episode.foundAt.map(formatter.string) ?? "-", -16),
                        (episode.interviewDue.map(formatter.string) ?? "-", -16), (left, -14),
                        ("\(episode.chases)", 6),
                    ]))
            }
            if episodes.contains(where: { !$0.reported }) {
                lines.append("* the found report came first; the police's missing report has not arrived")
            }
            return lines.joined(separator: "\n")
        }

        static func left(until due: Date, now: Date) -> String {
            let seconds = Int(due.timeIntervalSince(now))
            let hours = abs(seconds) / 3600
            let minutes = abs(seconds) % 3600 / 60
            let text = hours > 0 ? "\(hours)h \(minutes)m" : "\(minutes)m"
            return seconds >= 0 ? text : "overdue \(text)"
        }
    }
}
