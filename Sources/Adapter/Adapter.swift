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

/// One agency's adapter: takes sealed research requests from the agency's queue, stores each and acks it at
/// once, researches from the store (the soonest due first), and answers the coordinator with a sealed,
/// signed response through its own outbox. A heartbeat tells the hub it is alive.
///
/// Nothing is held open while research runs: a delivery is acked as soon as its request is committed, and the
/// answer is committed with the request's change of state before it is published. A `kill -9` at any point
/// therefore ends in exactly one answer: research not committed is done again, an answer committed but not
/// confirmed is published again with the same message id (which the coordinator ignores the second time).
public final class Adapter: Sendable {
    public static let version = "1.0"

    public let configuration: AdapterConfiguration
    let store: AdapterStore
    let outbox: Outbox
    let backend: any ResearchBackend
    /// Where outcomes go in the agency's own system; nil keeps them in the store only.
    let outcomeRecipient: (any OutcomeRecipient)?
    let keys: PartyKeys
    /// Each request's own data key (sealing the request and its outcome), shredded when the retention
    /// schedule purges them.
    let contentKeys: ContentKeys
    let broker: AMQPURL
    let logger: Logger
    let now: @Sendable () -> Date
    private let busy = Mutex<Set<String>>([])
    private let doorbell = Doorbell()
    private let outcomeDoorbell = Doorbell()
    /// Counts for `/metrics`; pending requests and the outbox backlog are read from the store per scrape.
    public let metrics = ServiceMetrics()
    private let base = Mutex<ServiceBase?>(nil)

    /// Where `/metrics` and `/health` are served, once `run` has started them.
    public var operationsURL: String? { base.withLock { $0?.operationsURL } }

    private var connected: Bool { base.withLock { $0?.connection?.status.isConnected == true } }

    public init(
        configuration: AdapterConfiguration, broker: AMQPURL, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) throws {
        self.configuration = configuration
        self.broker = broker
        self.logger = logger
        self.now = now
        (keys, store, contentKeys, outbox) = try Self.open(configuration)
        switch configuration.backend {
        case .extract(let extract):
            backend = try ExtractBackend(extract)
        case .command(let arguments, let timeout):
            backend = CommandBackend(arguments: arguments, timeout: timeout, allowed: configuration.categories)
        case .http(let url, let timeout):
            backend = HTTPBackend(url: url, timeout: timeout, allowed: configuration.categories)
        }
        switch configuration.outcomes {
        case .command(let arguments, let timeout):
            outcomeRecipient = CommandBackend(arguments: arguments, timeout: timeout, role: "outcome program")
        case .http(let url, let timeout):
            outcomeRecipient = HTTPBackend(url: url, timeout: timeout, role: "outcome service")
        case nil:
            outcomeRecipient = nil
        }
    }

    /// The agency's keys, the adapter's store with its record keys, and its outbox: what the running adapter and
    /// `mash-adapter challenge` (another process on the same store) both work with.
    static func open(_ configuration: AdapterConfiguration) throws -> (
        keys: PartyKeys, store: AdapterStore, contentKeys: ContentKeys, outbox: Outbox
    ) {
        let keys = try PartyKeys(
            party: configuration.agency, hub: configuration.hub, keysDirectory: configuration.keysDirectory)
        let store = try AdapterStore(path: configuration.store, agency: configuration.agency)
        let contentKeys = try ContentKeys(
            forStore: configuration.store, keyStore: configuration.keyStore, wrapping: keys.dataKeyring)
        return (keys, store, contentKeys, Outbox(SQLiteStore(store.queue)))
    }

    /// The adapter's parts as services, in start order (they stop in reverse): the operations endpoint, the
    /// broker session, the outbox relay, the heartbeat, the research workers, the outcome worker (when outcomes
    /// go to the agency's system) and the pump on the agency's queue. `ready` is called once the pump consumes and the endpoint is bound; `after` is waited for before
    /// connecting (`mash-hub` starts adapters once the coordinator has declared the topology).
    public func services(
        ready: @escaping @Sendable () -> Void = {}, after: (@Sendable () async throws -> Void)? = nil
    ) -> [any Service] {
        let base = ServiceBase(
            broker: AMQPConfiguration(url: broker, connectionName: "mash-adapter \(configuration.agency)"),
            after: after, outbox: outbox, appID: "mash-adapter", operationsPort: configuration.operationsPort, pumps: 1,
            logger: logger, metrics: metrics, now: now, scrape: { [self] in scrape() }, health: { [self] in health() }
        ) { [logger, configuration] in
            logger.info(
                "adapter ready", metadata: ["agency": "\(configuration.agency)", "queue": "\(configuration.queue)"])
            ready()
        }
        self.base.withLock { $0 = base }
        var services =
            base.services + [base.heartbeat(every: configuration.heartbeatEvery) { [self] in try await heartbeat() }]
        for worker in 1...max(1, configuration.parallel) {
            services.append(
                LoopService("research \(worker)", relay: base.relay) { [self] relay in try await research(relay!) })
        }
        if let recipient = outcomeRecipient {
            services.append(LoopService("outcomes") { [self] _ in try await passOutcomes(to: recipient) })
        }
        if let schedule = configuration.retention {
            let retention = Purge(schedule: schedule) { [self] now in try await purge(at: now) }
            services.append(retention.service(logger: logger, metrics: metrics, now: now))
        } else {
            logger.warning("no retention schedule ('retention:' in the configuration): nothing will be purged")
        }
        // The agency's broker user may publish only responses, so a refused message goes to the queue's DLQ by
        // rejection (RabbitMQ records `rejected` in x-death); the reason is logged.
        var pump = MessagePump(
            queue: configuration.queue, identity: configuration.agency,
            deadLetters: .reject { [self] in try sealed($0.json, type: .refusalReport, headers: [:]) }, prefetch: 16,
            handler: take)
        let doorbells = [doorbell, outcomeDoorbell]
        pump.afterCommit = { for doorbell in doorbells { doorbell.ring() } }
        return services + [base.pump(pump) { [keys] in keys.currentOpener() }]
    }

    /// The line `mash-adapter` and `mash-hub` print once it is ready.
    public var readyLine: String {
        "mash-adapter \(configuration.agency) ready" + (operationsURL.map { " (metrics and health: \($0))" } ?? "")
    }

    /// Runs the adapter's services until they fail or the calling task is cancelled, which stops them
    /// gracefully: consuming stops, the outbox is flushed, the connection closes. Research in progress is
    /// abandoned and done again at the next start.
    public func run(ready: @escaping @Sendable () -> Void = {}) async throws {
        do {
            try await ServiceGroup.runGracefully(services(ready: ready), logger: logger)
        } catch {
            logger.error("adapter stopped", metadata: ["error": "\(error)"])
            throw error
        }
        logger.info("adapter stopped")
    }

    // MARK: taking requests

    /// A message from the hub, in the pump's transaction: a request is stored (and acked once committed; the
    /// research runs from the store), a cancellation stops a pending request, a chase is logged, an outcome or a
    /// stage of a challenge this agency raised is stored (and passed on from the store).
    @Sendable func take(_ message: InboundMessage, _ db: any SQLDatabase) throws -> [OutboxMessage] {
        guard message.sender == configuration.hub else {
            throw Refusal(reason: "unexpectedSender", detail: "signed by \(message.sender), not \(configuration.hub)")
        }
        switch DocumentType(rawValue: message.type) {
        case .researchRequest:
            let request: ResearchRequest
            do {
                request = try ResearchRequest(json: message.payload, source: "message \(message.messageID)")
            } catch let error as DocumentError {
                throw Refusal(invalid: error)
            }
            guard request.agency == configuration.agency else {
                throw Refusal(reason: "wrongAgency", detail: "request \(request.requestID) is for \(request.agency)")
            }
            let kept = minimised(request)
            let accepted = try store.accept(
                db, messageID: message.messageID, requestID: request.requestID, enquiryID: request.enquiryID,
                dueBy: request.dueBy,
                sealedBody: try contentKeys.seal(
                    kept.json, scope: "request:\(request.requestID)",
                    context: Array("request:\(request.requestID)".utf8)),
                now: now())
            logger.info(
                accepted ? "request stored" : "request already stored; ignored",
                metadata: [
                    "request": "\(request.requestID)", "enquiry": "\(request.enquiryID)", "rag": "\(request.rag)",
                ])
            metrics.increment("mash_messages_received_total", [("queue", message.queue), ("outcome", "stored")])
        case .requestCancellation:
            let notice = try readNotice(message.opened)
            let cancelled = try store.cancel(db, requestID: notice.requestID ?? "", now: now())
            logger.info(
                "cancellation received", metadata: ["request": "\(notice.requestID ?? "-")", "stopped": "\(cancelled)"])
        case .requestChase:
            let notice = try readNotice(message.opened)
            logger.notice("the hub chased a request", metadata: ["request": "\(notice.requestID ?? "-")"])
        case .outcome:
            try keep(message, db)
        case .correction:
            return try apply(message, db)
        case .challengeStage:
            try keepStage(message, db)
        case .breachNotice:
            let notice = try Refusal.reading {
                try BreachNotice(json: message.payload, source: "message \(message.messageID)")
            }
            // The agency's DPO acts on it; the log names the breach and the messages by id only.
            logger.error(
                "the hub reports a personal data breach that may involve this agency's data",
                metadata: [
                    "breach": "\(notice.breachID)", "reportBy": "\(Instant.format(notice.reportBy))",
                    "messages": "\(notice.messages.joined(separator: ","))", "people": "\(notice.people)",
                ])
            metrics.increment("mash_breach_notices_total")
        default:
            throw Refusal(reason: "unexpectedType", detail: "'\(message.type)' is not taken by an adapter")
        }
        return []
    }

    /// An enquiry's outcome, for a request this agency answered: kept sealed, and marked to be passed to the
    /// agency's own system if its configuration names one.
    private func keep(_ message: InboundMessage, _ db: any SQLDatabase) throws {
        let outcome: EnquiryOutcome
        do {
            outcome = try EnquiryOutcome(json: message.payload, source: "message \(message.messageID)")
        } catch let error as DocumentError {
            throw Refusal(invalid: error)
        }
        guard let requestID = outcome.requestID else {
            throw Refusal(reason: "invalidDocument", detail: "an outcome for an agency must name its requestID")
        }
        guard try store.enquiry(ofRequest: requestID, db) == outcome.enquiryID else {
            throw Refusal(
                reason: "unknownRequest", detail: "no request \(requestID) of enquiry \(outcome.enquiryID) here")
        }
        let kept = try store.keepOutcome(
            db, requestID: requestID, messageID: message.messageID,
            status: outcomeRecipient == nil ? .kept : .waiting,
            sealedBody: try contentKeys.seal(
                message.payload, scope: "request:\(requestID)", context: Array("outcome:\(requestID)".utf8)),
            now: now())
        logger.info(
            kept ? "outcome stored" : "outcome already stored; ignored",
            metadata: [
                "request": "\(requestID)", "enquiry": "\(outcome.enquiryID)",
                "outcome": "\(outcome.outcome.rawValue)",
            ])
    }

    private func readNotice(_ opened: OpenedMessage) throws -> Notice {
        do {
            return try Notice(json: opened.payload, source: "message \(opened.messageID)")
        } catch let error as DocumentError {
            throw Refusal(invalid: error)
        }
    }

    /// Only the fields this agency is configured to receive are kept; anything more the hub sent is dropped
    /// before it is stored (a routing mistake at the hub must not widen what the agency holds).
    func minimised(_ request: ResearchRequest) -> ResearchRequest {
        var kept = request
        kept.subject = request.subject.keeping(configuration.receives)
        kept.household =
            configuration.receivesHousehold
            ? request.household.map { $0.keeping(configuration.receives.union([.role])) } : []
        kept.reason = configuration.receivesReason ? request.reason : nil
        if kept != request {
            logger.warning(
                "the request carried fields this agency is not configured to receive; they were dropped",
                metadata: ["request": "\(request.requestID)"])
        }
        return kept
    }

    // MARK: research

    /// Claims the pending request due soonest that no other researcher holds.
    private func claimNextJob() async throws -> AdapterStore.Job? {
        while true {
            let held = busy.withLock { $0 }
            guard let job = try await store.nextJob(excluding: held, now: now()) else { return nil }
            if busy.withLock({ $0.insert(job.id).inserted }) { return job }
        }
    }

    private func research(_ relay: OutboxRelay) async throws {
        while !Task.isCancelled {
            guard let job = try await claimNextJob() else {
                await doorbell.wait(upTo: .seconds(1))
                continue
            }
            defer { _ = busy.withLock { $0.remove(job.id) } }
            let request = try ResearchRequest(
                json: try contentKeys.open(
                    job.body, scope: "request:\(job.id)", context: Array("request:\(job.id)".utf8)),
                source: "stored request")
            guard let response = try await answer(request, attempts: job.attempts) else { continue }
            let message = try sealed(
                response.json, type: .researchResponse,
                headers: ["x-mash-enquiry": request.enquiryID, "x-mash-request": request.requestID])
            let store = self.store
            let outbox = self.outbox
            let now = self.now
            let answered = try await outbox.write(now: now) { db in
                guard try store.answer(db, job.id, outcome: response.outcome, now: now()) else { return false }
                try outbox.enqueue(db, [message], now: now())
                return true
            }
            guard answered else {
                logger.info("request cancelled during research; no answer sent", metadata: ["request": "\(job.id)"])
                continue
            }
            logger.info(
                "answered", metadata: ["request": "\(job.id)", "outcome": "\(response.outcome.rawValue)"])
            metrics.increment("mash_research_answers_total", [("outcome", response.outcome.rawValue)])
            relay.submit([message])
        }
    }

    /// The answer to `request`, or nil when a failed backend will be tried again later.
    private func answer(_ request: ResearchRequest, attempts: Int) async throws -> ResearchResponse? {
        func response(_ outcome: ResearchOutcome, findings: [Finding] = [], reason: String? = nil) -> ResearchResponse {
            let categories = Set(findings.map(\.category))
            let basis = configuration.lawfulBasis
            return ResearchResponse(
                requestID: request.requestID, enquiryID: request.enquiryID, agency: configuration.agency,
                outcome: outcome, declinedReason: reason, findings: findings,
                lawfulBasis: LawfulBasis(
                    article6: basis.article6, article9: categories.contains(.specialCategory) ? basis.article9 : nil,
                    article10: categories.contains(.criminalOffence) ? basis.article10 : nil),
                respondedAt: Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down)))
        }
        let held = try await suppressions(of: [request.subject] + request.household)
        if let subject = held[0] {
            let erased = subject.action == .erase
            logger.notice(
                "research held back: the hub asked for this person's data to be \(erased ? "erased" : "restricted")",
                metadata: ["request": "\(request.requestID)", "correction": "\(subject.correction)"])
            return response(
                .declined,
                reason: "not researched: the hub asked \(configuration.name) to "
                    + "\(erased ? "erase" : "restrict processing of") this person's data "
                    + "(correction \(subject.correction))")
        }
        var request = request
        request.household = request.household.enumerated().filter { held[$0.offset + 1] == nil }.map(\.element)
        guard request.consent == "given" || request.consent == "overridden" else {
            logger.notice("research refused: no consent", metadata: ["request": "\(request.requestID)"])
            return response(
                .declined,
                reason: "research refused: the request records consent as '\(request.consent)'; "
                    + "\(configuration.name) researches only with consent or a valid override")
        }
        let started = ContinuousClock.now
        defer { metrics.time("mash_research_duration", ContinuousClock.now - started) }
        do {
            switch try await backend.research(request) {
            case .findings(let findings):
                return response(findings.isEmpty ? .noTrace : .informationHeld, findings: findings)
            case .declined(let reason):
                return response(.declined, reason: reason)
            }
        } catch {
            metrics.increment("mash_failures_total", [("queue", configuration.queue), ("reason", "research")])
            let reason = (error as? ResearchFailure)?.description ?? "research failed (\(type(of: error)))"
            if attempts + 1 < configuration.attempts {
                logger.warning(
                    "research failed; will try again",
                    metadata: ["request": "\(request.requestID)", "attempt": "\(attempts + 1)", "error": "\(reason)"])
                try await store.retryLater(
                    request.requestID, attempts: attempts + 1, at: now().addingTimeInterval(configuration.retryDelay))
                return nil
            }
            logger.error(
                "research failed; answering unable",
                metadata: ["request": "\(request.requestID)", "error": "\(reason)"])
            return response(.unable, reason: "\(configuration.name) could not complete the research: \(reason)")
        }
    }

    // MARK: outcomes

    /// Passes each waiting outcome and challenge stage to the agency's system, the oldest first. A failure is
    /// tried again `retryDelay` later, for as long as it takes: nothing is dropped.
    private func passOutcomes(to recipient: any OutcomeRecipient) async throws {
        while !Task.isCancelled {
            guard let job = try await store.nextToPass(now: now()) else {
                let next = try await store.nextPassAttempt()
                let wait = next.map { min(max($0.timeIntervalSince(now()), 0.05), 1) } ?? 1
                await outcomeDoorbell.wait(upTo: .milliseconds(Int(wait * 1000)))
                continue
            }
            let document = try contentKeys.open(job.body, scope: job.scope, context: job.context)
            let what = job.kind == .outcome ? "an outcome" : "a challenge's stage"
            let metadata: Logger.Metadata = job.kind == .outcome ? ["request": "\(job.id)"] : ["stage": "\(job.id)"]
            do {
                try await recipient.deliver(document)
                try await store.passed(job, now: now())
                metrics.increment("mash_outcomes_passed_total", [("result", "passed"), ("kind", job.kind.rawValue)])
                logger.info("\(what) passed to the agency's system", metadata: metadata)
            } catch {
                let reason = (error as? ResearchFailure)?.description ?? "\(type(of: error))"
                let attempts = job.attempts + 1
                try await store.retry(job, attempts: attempts, at: now().addingTimeInterval(configuration.retryDelay))
                metrics.increment("mash_outcomes_passed_total", [("result", "failed"), ("kind", job.kind.rawValue)])
                logger.log(
                    level: attempts >= configuration.attempts ? .error : .warning,
                    "the agency's system did not take \(what); will try again",
                    metadata: metadata.merging(["attempt": "\(attempts)", "error": "\(reason)"]) { $1 })
            }
        }
    }

    // MARK: publishing

    func sealed(_ payload: [UInt8], type: DocumentType, headers: [String: String]) throws -> OutboxMessage {
        try keys.sealed(
            payload, type: type, exchange: HubQueues.responsesExchange, routingKey: configuration.agency,
            headers: headers, now: now())
    }

    /// The next heartbeat, sealed: what the adapter holds unanswered and when it last answered.
    private func heartbeat() async throws -> OutboxMessage {
        let summary = try await store.summary(now: now(), margin: configuration.answerWithin)
        if summary.atRisk > 0 {
            logger.warning("requests past the agency's own answer target", metadata: ["count": "\(summary.atRisk)"])
        }
        let heartbeat = AdapterHeartbeat(
            agency: configuration.agency,
            sentAt: Date(timeIntervalSince1970: now().timeIntervalSince1970.rounded(.down)),
            pending: summary.pending,
            lastResponseAt: summary.lastAnsweredAt.map {
                Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down))
            },
            version: Self.version, interval: configuration.heartbeatEvery)
        return try sealed(heartbeat.json, type: .adapterHeartbeat, headers: [:])
    }

    /// Requests by status (pending, answered, cancelled).
    public func requestCounts() throws -> [String: Int] { try store.counts() }

    /// `/metrics`: the counters kept as messages flow, plus requests by state and the outbox backlog.
    func scrape() -> [UInt8] {
        if let counts = try? store.counts() {
            for status in ["pending", "answered", "cancelled"] {
                metrics.record("mash_adapter_requests", Double(counts[status] ?? 0), [("status", status)])
            }
        }
        if let counts = try? store.counts(of: "outcome") {
            for status in ["kept", "waiting", "passed"] {
                metrics.record("mash_adapter_outcomes", Double(counts[status] ?? 0), [("status", status)])
            }
        }
        if let counts = try? store.counts(of: "challenge_stage") {
            for status in ["kept", "waiting", "passed"] {
                metrics.record("mash_adapter_challenge_stages", Double(counts[status] ?? 0), [("status", status)])
            }
        }
        metrics.recordClient(
            connection: base.withLock { $0?.connection?.status }, url: broker, outbox: outbox)
        return metrics.exposition()
    }

    /// `/health`: failing while the broker connection is down or the store cannot be read.
    func health() -> HealthReport { .client(connected: connected, outbox: outbox) }
}
