import Foundation

/// The RAG rating the SPA gives a contact.
public enum RAG: String, Sendable, CaseIterable, Codable {
    case red, amber, green
}

/// How one SLA clock runs.
public enum SLAClock: Sendable, Equatable {
    /// This much working time from the (effective) receipt.
    case workingTime(TimeInterval)
    /// This much wall-clock time from receipt, nights and holidays included.
    case wallClock(TimeInterval)
    /// The same time on the next working day, capped at that day's closing time.
    case sameTimeNextWorkingDay
}

/// The absolute deadlines of one enquiry, computed once at opening and stored with it: a restart never
/// moves them.
public struct Deadlines: Sendable, Equatable {
    /// When the clocks started: the contact's receipt, or the next opening if it arrived out of hours
    /// (working-time clocks); the receipt itself for wall-clock ones.
    public var countedFrom: Date
    public var partnersDue: Date
    public var partnersWarning: Date
    public var decisionDue: Date
    public var decisionWarning: Date
}

/// The statutory timescales (Medway MASH protocol): partner information and the decision, per RAG.
public struct SLAPolicy: Sendable, Equatable {
    public var partners: [RAG: SLAClock]
    public var decision: [RAG: SLAClock]
    /// The share of the allowed time after which a warning goes out (75 %).
    public var warningFraction: Double

    public init(partners: [RAG: SLAClock], decision: [RAG: SLAClock], warningFraction: Double = 0.75) {
        precondition(RAG.allCases.allSatisfy { partners[$0] != nil && decision[$0] != nil }, "every RAG needs clocks")
        self.partners = partners
        self.decision = decision
        self.warningFraction = warningFraction
    }

    /// Red: partner information within 4 working hours, and the decision by the same deadline.
    /// Amber and Green: partners and decision by the same time on the next working day.
    public static let mashDefault = SLAPolicy(
        partners: [.red: .workingTime(4 * 3600), .amber: .sameTimeNextWorkingDay, .green: .sameTimeNextWorkingDay],
        decision: [.red: .workingTime(4 * 3600), .amber: .sameTimeNextWorkingDay, .green: .sameTimeNextWorkingDay])

    public func deadlines(for rag: RAG, openedAt opened: Date, calendar: WorkingCalendar) -> Deadlines {
        let partners = due(self.partners[rag]!, opened: opened, calendar: calendar)
        let decision = due(self.decision[rag]!, opened: opened, calendar: calendar)
        return Deadlines(
            countedFrom: partners.start, partnersDue: partners.due, partnersWarning: partners.warning,
            decisionDue: decision.due, decisionWarning: decision.warning)
    }

    private func due(_ clock: SLAClock, opened: Date, calendar: WorkingCalendar) -> (
        start: Date, due: Date, warning: Date
    ) {
        switch clock {
        case .wallClock(let duration):
            return (opened, opened.addingTimeInterval(duration), opened.addingTimeInterval(duration * warningFraction))
        case .workingTime(let duration):
            let start = calendar.nextOpening(atOrAfter: opened)
            return (
                start, calendar.adding(workingTime: duration, to: start),
                calendar.adding(workingTime: duration * warningFraction, to: start)
            )
        case .sameTimeNextWorkingDay:
            let start = calendar.nextOpening(atOrAfter: opened)
            let due = calendar.sameTimeNextWorkingDay(after: start)
            let allowed = calendar.workingTime(from: start, to: due)
            return (start, due, calendar.adding(workingTime: allowed * warningFraction, to: start))
        }
    }
}
