import Foundation
import MASHConfig
import MASHCore

/// What `mashctl status` says about the agreement's paperwork rather than the traffic: a bank-holiday calendar
/// about to run out, and parties about to leave (or gone but still routed to).
enum GovernanceChecks {
    /// How long before the bank-holiday file's last date, and before a withdrawal, status starts to warn.
    static let noticeDays = 90

    /// The calendar's end: a warning from `noticeDays` before its last bank holiday, critical once past it
    /// (every deadline after it silently ignores bank holidays).
    static func calendar(lastHoliday: LocalDate?, today: LocalDate, file: String) -> StatusReport.Finding? {
        guard let last = lastHoliday else {
            return .init(level: .critical, subject: "calendar", message: "\(file) lists no bank holidays")
        }
        let left = last.daysSinceEpoch - today.daysSinceEpoch
        if left < 0 {
            return .init(
                level: .critical, subject: "calendar",
                message: "the bank-holiday file ended on \(last): deadlines now ignore bank holidays; import "
                    + "GOV.UK's new file with mashctl calendar import")
        }
        guard left <= noticeDays else { return nil }
        return .init(
            level: .warning, subject: "calendar",
            message: "the bank-holiday file ends on \(last) (in \(left) day\(left == 1 ? "" : "s")): import GOV.UK's "
                + "new file with mashctl calendar import")
    }

    /// Parties whose withdrawal takes effect within `noticeDays`, and parties that have left or never signed but
    /// are still routed to (nothing reaches them; their requests are not sent).
    static func signatories(_ list: Signatories, today: LocalDate, routed: [String]) -> [StatusReport.Finding] {
        var found: [StatusReport.Finding] = list.withdrawing(from: today, within: noticeDays).map { leaving in
            let days = leaving.on.daysSinceEpoch - today.daysSinceEpoch
            return .init(
                level: .warning, subject: "signatory \(leaving.party)",
                message: "leaves the information sharing agreement on \(leaving.on) (in \(days) day"
                    + "\(days == 1 ? "" : "s")): follow 'Offboarding a party' in deploy/README.md")
        }
        for party in routed.sorted() {
            if let refusal = list.refusal(of: party, on: today) {
                found.append(
                    .init(
                        level: .warning, subject: "signatory \(party)",
                        message: "\(refusal), but routing.yaml still names it: its requests are not sent"))
            }
        }
        return found
    }
}
