import Foundation

/// Where an enquiry is. The store keeps the raw value.
public enum EnquiryStatus: String, Sendable, CaseIterable {
    /// Sent to the agencies; waiting for their answers.
    case awaiting
    /// Every answer needed is in and the decision package has gone to the decision maker; the decision clock
    /// runs on.
    case complete
    /// The decision maker recorded a decision (`mash.decision/1`); the referrer was told the outcome.
    case decided
    /// Consent was withdrawn: the open requests were cancelled and nothing more is sent.
    case withdrawn
    /// Refused at intake (no lawful basis, say); the referrer was told why.
    case refused
}

/// Where one agency's research request is. The store keeps the raw value.
public enum RequestStatus: String, Sendable, CaseIterable {
    case sent
    case answered
    case cancelled
}

/// What a timer row belongs to. The timer table's `enquiry_id` column holds a DAN id for an Encompass notice's
/// timer, so the owner is read through this type rather than the columns.
public enum TimerOwner: Sendable, Equatable {
    /// An agency's deadline (the partners clock).
    case request(enquiry: String, request: String)
    /// The decision deadline (the decision clock).
    case enquiry(String)
    /// A school's acknowledgement of an Encompass notice.
    case encompassNotice(notice: String, dan: String)
    /// A missing episode's return interview (clock `return-interview`), or the chase of its placing authority
    /// (clock `authority-interview`).
    case missingEpisode(String, chase: Bool)
    /// A professional's contact waiting for the SPA's screening (clock `screening`).
    case contact(String)
    /// A contact's outcome waiting for the referrer's portal to confirm it (clock `feedback`).
    case contactFeedback(String)
    /// A no-name consultation's summary waiting for the professional's portal (clock `consultation-summary`).
    case consultation(String)
    /// A challenge to a decision at one stage for longer than the stage allows (clock `challenge`).
    case challenge(String)

    public init(clock: String, enquiryColumn: String, requestColumn: String?) {
        switch (clock, requestColumn) {
        case ("encompass", let notice?): self = .encompassNotice(notice: notice, dan: enquiryColumn)
        case ("return-interview", _): self = .missingEpisode(enquiryColumn, chase: false)
        case ("authority-interview", _): self = .missingEpisode(enquiryColumn, chase: true)
        case ("screening", _): self = .contact(enquiryColumn)
        case ("feedback", _): self = .contactFeedback(enquiryColumn)
        case ("consultation-summary", _): self = .consultation(enquiryColumn)
        case ("challenge", _): self = .challenge(enquiryColumn)
        case (_, let request?): self = .request(enquiry: enquiryColumn, request: request)
        case (_, nil): self = .enquiry(enquiryColumn)
        }
    }
}

/// An enquiry's life as a value: what an answer, a withdrawal or a timer does to it, and what must happen as a
/// result. The coordinator loads it from the store, applies an event and carries out the effects in the same
/// transaction; the rules themselves are tested here without a broker or a store.
public struct EnquiryLifecycle: Sendable, Equatable {
    public struct Request: Sendable, Equatable {
        public var id: String
        public var agency: String
        public var mandatory: Bool
        public var status: RequestStatus

        public init(id: String, agency: String, mandatory: Bool, status: RequestStatus) {
            self.id = id
            self.agency = agency
            self.mandatory = mandatory
            self.status = status
        }
    }

    public enum Effect: Sendable, Equatable {
        /// Store the answer, stop the request's timers, record the sharing.
        case recordAnswer(request: String)
        /// The answer came for a request that is no longer open: log it, change nothing.
        case ignoreAnswer(request: String, status: RequestStatus)
        /// Tell the agency its request is cancelled, and stop its timers.
        case cancelRequest(request: String, agency: String)
        /// Send the decision package with the answers in, and stop the partners' timers (the decision clock
        /// runs until the decision).
        case deliverPackage
        /// Store the decision, stop the decision clock, record the sharing and tell the referrer the outcome.
        case recordDecision
        /// Refuse the decision (dead-lettered with this reason): there is no package to decide on, or a
        /// decision was already recorded.
        case refuseDecision(reason: String, detail: String)
        /// Mark the enquiry withdrawn and stop every timer of the enquiry.
        case closeWithdrawn
    }

    public var status: EnquiryStatus
    public var requests: [Request]

    public init(status: EnquiryStatus, requests: [Request]) {
        self.status = status
        self.requests = requests
    }

    /// The requests the package waits for: the mandatory ones, or every one if none is mandatory.
    public var waitingFor: [Request] {
        let mandatory = requests.filter(\.mandatory)
        return (mandatory.isEmpty ? requests : mandatory).filter { $0.status == .sent }
    }

    /// An agency answered request `id` (already checked to be this enquiry's, from the right agency). The
    /// answer is kept if the request is open; once every request waited for is answered, the optional ones
    /// still open are cancelled and the package goes.
    public mutating func answer(_ id: String) -> [Effect] {
        guard let index = requests.firstIndex(where: { $0.id == id }) else { return [] }
        guard requests[index].status == .sent else {
            return [.ignoreAnswer(request: id, status: requests[index].status)]
        }
        requests[index].status = .answered
        var effects: [Effect] = [.recordAnswer(request: id)]
        guard status == .awaiting, waitingFor.isEmpty else { return effects }
        effects += cancelOpenRequests()
        status = .complete
        effects.append(.deliverPackage)
        return effects
    }

    /// Consent was withdrawn: an awaiting enquiry cancels every open request and closes; otherwise nothing
    /// changes (a package already delivered cannot be recalled this way).
    public mutating func withdraw() -> [Effect] {
        guard status == .awaiting else { return [] }
        let effects = cancelOpenRequests()
        status = .withdrawn
        return effects + [.closeWithdrawn]
    }

    /// The decision maker decided on the package. Only a delivered package can be decided, once.
    public mutating func decide() -> [Effect] {
        switch status {
        case .complete:
            status = .decided
            return [.recordDecision]
        case .decided:
            return [
                .refuseDecision(reason: "alreadyDecided", detail: "a decision is already recorded for this enquiry")
            ]
        case .awaiting, .withdrawn, .refused:
            return [
                .refuseDecision(
                    reason: "notDecidable",
                    detail: "the enquiry is \(status.rawValue): no decision package has been delivered for it")
            ]
        }
    }

    /// Whether a timer of this enquiry still fires: a request's only while that request is open, the decision
    /// clock's until the decision is recorded (or the enquiry is withdrawn).
    public func fires(_ owner: TimerOwner) -> Bool {
        switch owner {
        case .request(_, let id): requests.first { $0.id == id }?.status == .sent
        case .enquiry: status == .awaiting || status == .complete
        case .encompassNotice, .missingEpisode, .contact, .contactFeedback, .consultation, .challenge: false
        }
    }

    private mutating func cancelOpenRequests() -> [Effect] {
        var effects: [Effect] = []
        for index in requests.indices where requests[index].status == .sent {
            requests[index].status = .cancelled
            effects.append(.cancelRequest(request: requests[index].id, agency: requests[index].agency))
        }
        return effects
    }
}

/// What an SLA timer does when it fires, and when the next chase is.
public struct SLATimerRule: Sendable, Equatable {
    public enum Effect: Sendable, Equatable {
        /// An SLA alert to the Practice Manager.
        case alertPracticeManager
        /// A chase to the agency whose request it is.
        case chaseAgency(String)
        /// The next chase timer, at this moment.
        case scheduleChase(at: Date)
    }

    /// How long after a breach (and each chase) the next chase comes.
    public var chaseEvery: TimeInterval

    public init(chaseEvery: TimeInterval) { self.chaseEvery = chaseEvery }

    /// A warning alerts only; a breach or chase alerts, chases the agency (for a request's timer) and sets the
    /// next chase a whole number of intervals after this timer's own moment — so a restart neither moves the
    /// chases nor sends the ones missed while down one by one.
    public func effects(of event: Notice.Event, due: Date, firedAt now: Date, agency: String?) -> [Effect] {
        guard event != .warning else { return [.alertPracticeManager] }
        var effects: [Effect] = [.alertPracticeManager]
        if let agency { effects.append(.chaseAgency(agency)) }
        let steps = max(1, (now.timeIntervalSince(due) / chaseEvery).rounded(.down) + 1)
        effects.append(.scheduleChase(at: due.addingTimeInterval(steps * chaseEvery)))
        return effects
    }
}
