import AMQP
import Foundation
import GRDB
import Logging
import MASHAgency
import MASHCore
import MASHProtocol
import MASHRuntime
import MASHService
import Sealing
import ServiceLifecycle
import Synchronization

/// One party's desk: takes the sealed items from the party's queue, stores each (sealed with the desk's
/// data-at-rest key) and acks it once committed, and serves them to the party's staff as web pages over HTTPS.
/// What staff do (a decision, an acknowledgement) goes to the hub sealed and signed by the party, with the staff
/// id in it, through the desk's outbox: committed with the item's change of state, published after.
///
/// A `kill -9` loses nothing: an item acked is in the store; an action committed is published at the next
/// start with the same message id (which the hub ignores a second time); an action not committed was never
/// shown as done.
public final class Desk: Sendable {
    public let configuration: DeskConfiguration
    let store: DeskStore
    let outbox: Outbox
    let keys: PartyKeys
    /// Each item's own data key, shredded when the retention schedule purges the item.
    let contentKeys: ContentKeys
    let broker: AMQPURL
    let logger: Logger
    let now: @Sendable () -> Date
    let accessLog: AccessLog
    public let metrics = ServiceMetrics()
    private let base = Mutex<ServiceBase?>(nil)
    private let boundPort = Mutex<Int?>(nil)

    public var operationsURL: String? { base.withLock { $0?.operationsURL } }
    /// Where staff open the desk, once it listens.
    public var url: String? { boundPort.withLock { $0 }.map { configuration.url(port: $0) } }
    private var connected: Bool { base.withLock { $0?.connection?.status.isConnected == true } }

    public init(
        configuration: DeskConfiguration, broker: AMQPURL, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.configuration = configuration
        self.broker = broker
        self.logger = logger
        self.now = now
        keys = try PartyKeys(
            party: configuration.party, hub: configuration.hub, keysDirectory: configuration.keysDirectory)
        store = try DeskStore(path: configuration.store)
        contentKeys = try ContentKeys(
            forStore: configuration.store, keyStore: configuration.keyStore, wrapping: keys.dataKeyring)
        outbox = Outbox(store.queue)
        accessLog = try AccessLog(path: configuration.accessLog)
    }

    /// The line `mash-desk` and `mash-hub` print once the desk consumes and listens.
    public static let version = "1.0"

    public var readyLine: String { "mash-desk \(configuration.party) ready at \(url ?? "?")" }

    /// The desk's parts as services, in start order: the operations endpoint (if configured), the broker
    /// session, the outbox relay, the pump on the party's queue and the web server. `ready` is called once the
    /// pump consumes and the server listens.
    public func services(
        ready: @escaping @Sendable () -> Void = {}, after: (@Sendable () async throws -> Void)? = nil
    ) throws -> [any Service] {
        let readiness = Readiness(parts: 2, ready: ready)
        let base = ServiceBase(
            broker: AMQPConfiguration(url: broker, connectionName: "mash-desk \(configuration.party)"),
            after: after, outbox: outbox, appID: "mash-desk", operationsPort: configuration.operationsPort, pumps: 1,
            logger: logger, metrics: metrics, now: now, scrape: { [self] in scrape() }, health: { [self] in health() }
        ) { readiness.partReady() }
        self.base.withLock { $0 = base }
        // The party's broker user may publish only to the hub's intake, so a refused item is rejected to the
        // queue's DLQ (x-death says `rejected`) and the reason goes to the hub in a refusal report.
        let pump = MessagePump(
            queue: configuration.queue, identity: configuration.party,
            deadLetters: .reject { [self] in
                try sealed($0.json, type: .refusalReport, routingKey: HubQueues.partyReportRoutingKey, headers: [:])
            }, prefetch: 16, handler: take)
        let web = try DeskWeb(desk: self) { [self] port in
            boundPort.withLock { $0 = port }
            readiness.partReady()
        }
        var services =
            base.services + [
                base.pump(pump) { [keys] in keys.currentOpener() }, web.service,
                base.heartbeat(every: configuration.heartbeatEvery) { [self] in try await heartbeat() },
            ]
        if let schedule = configuration.retention {
            let retention = Purge(schedule: schedule) { [self] now in try await purge(at: now) }
            services.append(retention.service(logger: logger, metrics: metrics, now: now))
        } else {
            logger.warning("no retention schedule ('retention:' in the configuration): nothing will be purged")
        }
        return services
    }

    // MARK: taking items

    /// A message from the hub, in the pump's transaction: an item of a type this desk shows is stored.
    @Sendable func take(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard message.sender == configuration.hub else {
            throw Refusal(reason: "unexpectedSender", detail: "signed by \(message.sender), not \(configuration.hub)")
        }
        if message.type == DocumentType.correction.rawValue { return try apply(message, db) }
        // Every desk shows a breach notice about what it received, whatever else it shows.
        guard let type = DocumentType(rawValue: message.type),
            configuration.shows.contains(type) || type == .breachNotice
        else {
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not shown on this desk")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any] else {
            throw Refusal(reason: "invalidDocument", detail: "not a JSON object")
        }
        var summary = DeskDocument.summary(type: type, object)
        let headers = message.delivery.properties.headers
        if summary.dueAt == nil, let due = headers["x-mash-due"]?.string {
            summary.dueAt = Instant.parse(due)
        }
        // A contact's outcome that is a MASH enquiry's decision names the enquiry: the professional may challenge it.
        if type == .contactOutcome { summary.enquiryID = headers["x-mash-enquiry"]?.string }
        if type == .challengeStage, configuration.actions.contains(.refer) {
            // On a portal a stage is for the professional who raised the challenge alone.
            guard let challengeID = summary.challengeID, let raiser = try store.sender(ofChallenge: challengeID, db)
            else {
                throw Refusal(
                    reason: "unknownChallenge",
                    detail: "no challenge \(summary.challengeID ?? "-") was raised from this portal")
            }
            summary.owner = raiser.staffID
            summary.contactID = raiser.contactID
        }
        let context = Array("item:\(message.messageID)".utf8)
        let stored = try store.accept(
            db, id: message.messageID, type: type.rawValue, dueAt: summary.dueAt,
            summary: try contentKeys.seal(
                Array(try JSONEncoder().encode(summary)), scope: "item:\(message.messageID)", context: context + [1]),
            body: try contentKeys.seal(message.payload, scope: "item:\(message.messageID)", context: context),
            now: now())
        logger.info(
            stored ? "item stored" : "item already stored; ignored",
            metadata: ["item": "\(message.messageID)", "type": "\(type.rawValue)"])
        metrics.increment("mash_desk_items_total", [("type", Inbox.outcome(of: type.rawValue))])
        return stored ? try receipt(for: type, summary, messageID: message.messageID) : []
    }

    /// On a portal, a referrer's feedback (a contact's outcome, a consultation's summary) is acknowledged to the
    /// hub as soon as it is stored here, where the referrer sees it: that stops the hub's feedback clock.
    private func receipt(for type: DocumentType, _ summary: ItemSummary, messageID: String) throws -> [OutboxMessage] {
        guard configuration.actions.contains(.refer) else { return [] }
        let kind: DeliveryReceipt.Kind
        let about: String?
        switch type {
        case .contactOutcome: (kind, about) = (.contactOutcome, summary.contactID)
        case .consultation: (kind, about) = (.consultation, summary.consultationID)
        default: return []
        }
        guard let about else { throw Refusal(reason: "invalidDocument", detail: "\(type.rawValue) names no id") }
        let receipt = DeliveryReceipt(
            messageID: messageID, kind: kind, about: about,
            receivedAt: Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down)))
        return [
            try sealed(
                receipt.json, type: .deliveryReceipt, routingKey: HubQueues.contactRoutingKey,
                headers: ["x-mash-receipt-for": messageID])
        ]
    }

    // MARK: reading items (for the pages)

    struct OpenItem {
        var stored: StoredItem
        var summary: ItemSummary
        var document: [String: Any]
    }

    func summaries() async throws -> [(StoredItem, ItemSummary)] {
        try await store.items().map { item in
            (item, try summary(of: item))
        }
    }

    private func summary(of item: StoredItem) throws -> ItemSummary {
        try JSONDecoder().decode(
            ItemSummary.self,
            from: Data(
                try contentKeys.open(
                    item.summary, scope: "item:\(item.id)", context: Array("item:\(item.id)".utf8) + [1])))
    }

    /// The item and its document; a member of staff opening it marks it seen (a list built from documents,
    /// such as the missing children's review, does not).
    func open(_ id: String) async throws -> OpenItem? { try await open(id: id, markingSeen: true) }

    func open(id: String, markingSeen: Bool) async throws -> OpenItem? {
        guard let item = try await store.item(id) else { return nil }
        let body = try contentKeys.open(item.body, scope: "item:\(item.id)", context: Array("item:\(item.id)".utf8))
        let document = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
        if markingSeen, item.status == .new { try await store.markSeen(id) }
        return OpenItem(stored: item, summary: try summary(of: item), document: document)
    }

    // MARK: actions

    enum ActionResult: Equatable {
        case done
        /// Done before (by whom, when): a second submission has no effect.
        case already(by: String?, at: Date?)
        case notAllowed(String)
    }

    /// What staff filled in on an action's form.
    struct ActionForm {
        var outcome: DecisionOutcome?
        var rationale: String?
        var triage: TriageDecision?
        /// For a triage outcome that opens an enquiry.
        var enquiry: TriageOutcome.EnquiryRequest?
        /// A return interview's offer or the interview (its episode filled in from the item).
        var interview: ReturnInterview?
        /// A contact's screening (its contact id filled in from the item).
        var screening: Screening?
        /// A MASH meeting's record (its sitting filled in from the list).
        var meeting: MeetingRecord?
        /// A challenge to the decision on an outcome (its enquiry filled in from the item).
        var challenge: Challenge?
        /// A challenge's next stage (its challenge filled in from the item).
        var stage: ChallengeStageRecord?
    }

    /// Records a decision, a triage outcome or an acknowledgement by `staffID` on an item, and sends what it
    /// causes to the hub in the same transaction. A second submission finds the item done and sends nothing.
    func act(_ action: DeskAction, on id: String, by staffID: String, form: ActionForm = ActionForm()) async throws
        -> ActionResult
    {
        guard configuration.actions.contains(action) else { return .notAllowed("this desk does not \(action)") }
        if let role = DeskRole.needed(for: action),
            configuration.staff.first(where: { $0.id == staffID })?.roles.contains(role) != true
        {
            return .notAllowed(
                "only staff with the \(role.rawValue) role may \(action.rawValue) (ask the desk's administrator)")
        }
        guard let item = try await store.item(id) else { return .notAllowed("no such item") }
        if item.status == .done { return .already(by: item.actedBy, at: item.actedAt) }
        let summary = try summary(of: item)
        let at = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        var messages: [OutboxMessage] = []
        var result: String?
        /// An offer not yet held is sent, and the item stays open for the interview itself.
        var concludes = true
        /// A document to keep in `sent` with the action (a portal's challenge): its id, reference, message, body.
        var keep: (id: String, reference: String, messageID: String, body: [UInt8])?
        switch (action, DocumentType(rawValue: item.type)) {
        case (.decide, .decisionPackage):
            guard let enquiryID = summary.enquiryID, let outcome = form.outcome, let rationale = form.rationale,
                !rationale.isEmpty
            else {
                return .notAllowed("a decision needs an outcome and a rationale")
            }
            let decision = Decision(
                enquiryID: enquiryID, outcome: outcome, rationale: rationale, decidedBy: staffID, decidedAt: at)
            result = outcome.rawValue
            messages.append(
                try sealed(
                    decision.json, type: .decision, routingKey: "decision", headers: ["x-mash-enquiry": enquiryID]))
        case (.decide, _):
            return .notAllowed("only a decision package is decided")
        case (.acknowledge, .encompassNotice):
            guard let noticeID = summary.noticeID else { return .notAllowed("the notice has no id") }
            let acknowledgement = EncompassAcknowledgement(
                noticeID: noticeID, acknowledgedAt: at, acknowledgedBy: staffID)
            messages.append(
                try sealed(
                    acknowledgement.json, type: .encompassAcknowledgement, routingKey: "encompass-acknowledgement",
                    headers: ["x-mash-notice": noticeID]))
        case (.acknowledge, .danTriage):
            return .notAllowed("a DAN on the triage list is closed by recording its triage outcome")
        case (.acknowledge, _):
            break
        case (.triage, .danTriage):
            guard let danID = summary.danID, let decision = form.triage, let rationale = form.rationale,
                !rationale.isEmpty
            else { return .notAllowed("a triage outcome needs a decision and a rationale") }
            guard (decision == .openEnquiry) == (form.enquiry != nil) else {
                return .notAllowed("an enquiry needs the child, the RAG rating and the consent position")
            }
            let outcome = TriageOutcome(
                danID: danID, decision: decision, enquiry: form.enquiry, rationale: rationale, triagedBy: staffID,
                triagedAt: at)
            result = decision.rawValue
            messages.append(
                try sealed(outcome.json, type: .triageOutcome, routingKey: "triage", headers: ["x-mash-dan": danID]))
        case (.triage, _):
            return .notAllowed("only a DAN on the triage list is triaged")
        case (.interview, .missingNotice):
            guard summary.report == "found", let episodeID = summary.episodeID else {
                return .notAllowed("a return interview is recorded on the child's found report")
            }
            guard var interview = form.interview else { return .notAllowed("the interview form was empty") }
            interview.episodeID = episodeID
            interview.offeredBy = interview.offeredBy.isEmpty ? staffID : interview.offeredBy
            result = interview.heldAt != nil ? "held" : interview.response.rawValue
            concludes = interview.concludes
            messages.append(
                try sealed(
                    interview.json, type: .returnInterview, routingKey: "missing",
                    headers: ["x-mash-episode": episodeID]))
        case (.interview, _):
            return .notAllowed("only a found child's return interview is recorded")
        case (.screen, .contact):
            guard let contactID = summary.contactID else { return .notAllowed("the contact has no id") }
            guard var screening = form.screening else { return .notAllowed("the screening form was empty") }
            if screening.decision == .mashEnquiry, screening.enquiry?.dateOfBirth == nil {
                let body = try contentKeys.open(
                    item.body, scope: "item:\(item.id)", context: Array("item:\(item.id)".utf8))
                let child = (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])?["child"]
                guard (child as? [String: Any])?["dateOfBirth"] != nil else {
                    return .notAllowed(
                        "a MASH enquiry needs the child's date of birth, which the contact does not give: "
                            + "find it (the referrer, the school's or the GP's record) and enter it on the form")
                }
            }
            screening.contactID = contactID
            screening.screenedBy = staffID
            screening.screenedAt = at
            result = screening.decision.rawValue
            messages.append(
                try sealed(
                    screening.json, type: .screening, routingKey: HubQueues.contactRoutingKey,
                    headers: ["x-mash-contact": contactID]))
        case (.screen, _):
            return .notAllowed("only a professional's contact is screened")
        case (.meet, .meetingAgenda):
            guard let meetingID = summary.meetingID, var meeting = form.meeting else {
                return .notAllowed("the meeting's form was empty")
            }
            meeting.meetingID = meetingID
            meeting.recordedBy = staffID
            result = "recorded"
            messages.append(
                try sealed(
                    meeting.json, type: .meetingRecord, routingKey: HubQueues.meetingRoutingKey,
                    headers: ["x-mash-meeting": meetingID]))
        case (.meet, _):
            return .notAllowed("only a MASH meeting's list is recorded")
        case (.challenge, .outcome), (.challenge, .contactOutcome):
            guard let enquiryID = summary.enquiryID else {
                return .notAllowed(
                    "only a MASH enquiry's decision is challenged here; to disagree with the SPA's screening of a "
                        + "contact, phone the SPA & MASH Practice Manager")
            }
            guard var challenge = form.challenge else { return .notAllowed("the challenge's form was empty") }
            challenge.enquiryID = enquiryID
            challenge.contactID = summary.contactID
            challenge.raisedBy.staffID = staffID
            challenge.raisedAt = at
            // The outcome stays on the inbox; a second submission of the same form has the same id.
            concludes = false
            let message = try sealed(
                challenge.json, type: .challenge, routingKey: HubQueues.challengeRoutingKey,
                headers: ["x-mash-enquiry": enquiryID, "x-mash-challenge": challenge.id])
            messages.append(message)
            if summary.contactID != nil {
                // A portal keeps who raised it, so each stage the hub sends back is shown to that professional only.
                keep = (
                    challenge.id, summary.contactID ?? summary.reference, message.messageID,
                    try contentKeys.seal(
                        challenge.json, scope: "sent:\(challenge.id)", context: Array("sent:\(challenge.id)".utf8))
                )
            }
        case (.challenge, _):
            return .notAllowed("only the decision on an outcome is challenged")
        case (.discuss, .challenge), (.stage, .challenge):
            guard let challengeID = summary.challengeID, var stage = form.stage else {
                return .notAllowed("the stage's form was empty")
            }
            if action == .discuss { stage.stage = .discussedAtMASH }
            if action == .stage, stage.stage == .discussedAtMASH || stage.stage == .raised {
                return .notAllowed(
                    "the Area Manager records the later stages: with the Area Manager, senior staff, the Operation Group, or resolved"
                )
            }
            stage.challengeID = challengeID
            stage.recordedBy = staffID
            stage.at = at
            result = stage.stage.rawValue
            concludes = stage.stage == .resolved
            messages.append(
                try sealed(
                    stage.json, type: .challengeStage, routingKey: HubQueues.challengeRoutingKey,
                    headers: ["x-mash-challenge": challengeID]))
        case (.discuss, _), (.stage, _):
            return .notAllowed("only a challenge is moved on")
        case (.consult, _), (.refer, _):
            return .notAllowed("\(action.rawValue) is a form of its own, not an action on an item")
        }
        let store = self.store
        let outbox = self.outbox
        let now = self.now
        let (caused, chosen, closing, kept) = (messages, result, concludes, keep)
        let done = try await outbox.write(now: now) { db in
            if closing {
                guard try store.markDone(db, id, action: action, result: chosen, by: staffID, at: at) else {
                    return false
                }
            }
            if let kept {
                // Sent before (the same form twice): the hub ignores the second copy by its id, nothing more here.
                _ = try store.recordSent(
                    db, id: kept.id, type: DocumentType.challenge.rawValue, reference: kept.reference,
                    staffID: staffID, at: at, messageID: kept.messageID, body: kept.body)
            }
            try outbox.enqueue(db, caused, now: now())
            return true
        }
        guard done else {
            let again = try await store.item(id)
            return .already(by: again?.actedBy, at: again?.actedAt)
        }
        base.withLock { $0?.relay.relay.current }?.submit(messages)
        metrics.increment("mash_desk_actions_total", [("action", action.rawValue)])
        logger.info("\(action.rawValue) recorded", metadata: ["item": "\(id)", "staff": "\(staffID)"])
        return .done
    }

    /// Sends a document a member of staff wrote on one of the desk's own forms (a contact, a consultation, a
    /// correction asked for): kept in `sent` under its own key and put in the outbox in one transaction. A form
    /// submitted twice (the same document id) sends nothing more; false then.
    func send(
        _ document: [UInt8], type: DocumentType, id: String, reference: String, by staffID: String,
        headers: [String: String]
    ) async throws -> Bool {
        guard let action = Self.action(sending: type), configuration.actions.contains(action) else {
            throw Refusal(reason: "notAllowed", detail: "this desk does not send \(type.rawValue)")
        }
        let message = try sealed(document, type: type, routingKey: HubQueues.contactRoutingKey, headers: headers)
        let body = try contentKeys.seal(document, scope: "sent:\(id)", context: Array("sent:\(id)".utf8))
        let (store, outbox, now) = (self.store, self.outbox, self.now)
        let at = Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down))
        let sent = try await outbox.write(now: now) { db in
            guard
                try store.recordSent(
                    db, id: id, type: type.rawValue, reference: reference, staffID: staffID, at: at,
                    messageID: message.messageID, body: body)
            else { return false }
            try outbox.enqueue(db, [message], now: now())
            return true
        }
        guard sent else { return false }
        base.withLock { $0?.relay.relay.current }?.submit([message])
        metrics.increment("mash_desk_sent_total", [("type", Inbox.outcome(of: type.rawValue))])
        logger.info("sent", metadata: ["type": "\(type.rawValue)", "id": "\(id)", "staff": "\(staffID)"])
        return true
    }

    static func action(sending type: DocumentType) -> DeskAction? {
        switch type {
        case .contact, .consultationCorrection: .refer
        case .consultation: .consult
        default: nil
        }
    }

    /// A sent document, opened.
    func document(of record: SentRecord) throws -> [String: Any] {
        let body = try contentKeys.open(
            record.body, scope: "sent:\(record.id)", context: Array("sent:\(record.id)".utf8))
        return (try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]) ?? [:]
    }

    func sealed(_ payload: [UInt8], type: DocumentType, routingKey: String, headers: [String: String]) throws
        -> OutboxMessage
    {
        try keys.sealed(
            payload, type: type, exchange: HubQueues.intakeExchange, routingKey: routingKey, headers: headers,
            now: now())
    }

    // MARK: operations

    /// The desk's `mash.adapter-heartbeat/1`: its party as `agency`, the items not yet opened as `pending`.
    private func heartbeat() async throws -> OutboxMessage {
        let heartbeat = AdapterHeartbeat(
            agency: configuration.party,
            sentAt: Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down)),
            pending: (try? await store.unopenedCount()) ?? 0, lastResponseAt: nil, version: Self.version,
            interval: configuration.heartbeatEvery)
        return try sealed(
            heartbeat.json, type: .adapterHeartbeat, routingKey: HubQueues.partyReportRoutingKey, headers: [:])
    }

    func scrape() -> [UInt8] {
        metrics.recordClient(
            connection: base.withLock { $0?.connection?.status }, url: broker, outbox: outbox)
        return metrics.exposition()
    }

    func health() -> HealthReport { .client(connected: connected, outbox: outbox) }
}
