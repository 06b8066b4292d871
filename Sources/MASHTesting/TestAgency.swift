import AMQP
import Foundation
import MASHCore
import Sealing

/// The parties of a hub, with freshly generated keys in a scratch key directory (never committed).
public struct TestHub: Sendable {
    public static let agencies = ["police", "health", "education", "housing", "yos", "probation", "turning-point"]
    public static let parties =
        [
            "coordinator", "decision-maker", "practice-manager", "spa", "csc", "orchestra", "la-officer", "operator",
            "dpo", "missing-coordinator", "la-kent", "portal",
            // A partner's own portal (the front door with more than one portal).
            "portal-kmpt", "area-manager",
        ]
        + agencies + schools
    /// The sample schools of Config/schools, as key-holding parties.
    public static let schools = ["school-990001", "school-990002"]
    /// The staff of Config/staff.yaml (an operator, a Practice Manager, a DPO, an auditor), each with a key of
    /// their own, and one who is not listed there.
    public static let staff = ["j.smith", "a.ahmed", "d.khan", "r.okafor", "x.unlisted"]

    public let keys: ScratchDirectory

    public init(_ purpose: String) throws {
        keys = try ScratchDirectory("keys-\(purpose)")
        // As `mashctl keys generate` makes them: a signing and an encryption key per party, a signing key per
        // member of staff. (Tests of the move from one key to two make the older single keys themselves.)
        for party in Self.parties { try KeyDirectory.generateSplit(agency: party, in: keys.path) }
        for member in Self.staff { try KeyDirectory.generate(agency: member, in: keys.path, use: .sig) }
    }

    /// Keys already parsed, by file: a party seals many messages and PEM decoding costs more than the
    /// sealing, so the (simulated) parties keep their keys in memory as real ones do. Looked up by the newest
    /// file's name, so a key a test rotates in is used at once.
    private let parsed = Locked<[String: AgencyKeyPair]>([:])
    private let parsedPublic = Locked<[String: AgencyPublicKey]>([:])

    public func keyPair(_ party: String) throws -> AgencyKeyPair {
        let newest = try KeyDirectory.files(agency: party, ending: ".pem", in: keys.path).first ?? ""
        if let cached = parsed.withLock({ $0[newest] }) { return cached }
        let pair = try KeyDirectory.keyPairs(agency: party, in: keys.path).signingPair()
        parsed.withLock { $0[newest] = pair }
        return pair
    }

    public func publicKey(_ party: String) throws -> AgencyPublicKey {
        let newest = try KeyDirectory.files(agency: party, ending: ".jwk", in: keys.path).first ?? ""
        if let cached = parsedPublic.withLock({ $0[newest] }) { return cached }
        let key = try KeyDirectory.newestPublicKey(agency: party, in: keys.path)
        parsedPublic.withLock { $0[newest] = key }
        return key
    }

    /// An opener for `party` that trusts every key in the hub.
    public func opener(_ party: String) throws -> Opener {
        Opener(
            recipient: party, keyPairs: try KeyDirectory.keyPairs(agency: party, in: keys.path),
            trusted: try TrustStore(directory: keys.path))
    }

    /// Seals `payload` from `sender` to `recipient` as a message ready to publish.
    public func sealed(
        _ payload: [UInt8], type: DocumentType, from sender: String, to recipient: String, issuedAt: Date = Date()
    ) throws -> OutboundMessage {
        let id = TestNames.messageID()
        let body = try Sealer(sender: try keyPair(sender)).seal(
            payload, type: type.rawValue, messageID: id, to: try publicKey(recipient), issuedAt: issuedAt)
        return OutboundMessage(
            body: Array(body.utf8),
            properties: MessageProperties(
                messageID: id, type: type.rawValue, contentType: "application/jose",
                timestamp: UInt64(Date().timeIntervalSince1970), headers: ["x-mash-sender": .string(sender)]))
    }

    /// The broker queues the hub uses, emptied before a test so nothing from an earlier test is delivered.
    public static let queues =
        [
            "coordinator.intake", "coordinator.responses", "spa.notices", "practice-manager.alerts",
            "decision-maker.packages", "coordinator.notifications", "probation.safeguarding", "csc.contacts",
            "la-officer.encompass", "education.rolls", "orchestra.notices", "school.990001.encompass",
            "school.990002.encompass", "dpo.alerts",
        ]
        + agencies.map { "agency.\($0).enquiries" }

    public static func purgeQueues(_ connection: AMQPConnection) async throws {
        for queue in queues + queues.map({ $0 + ".dlq" }) { try await connection.purge(queue: queue) }
    }

    /// A sample enquiry about a (synthetic) child, with consent given.
    public static func enquiry(
        rag: RAG = .red, agencies: [String] = [], consent: Consent? = nil, receivedAt: Date = Date()
    ) -> Enquiry {
        // The documents carry whole seconds.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let receivedAt = Date(timeIntervalSince1970: receivedAt.timeIntervalSince1970.rounded(.down))
        return Enquiry(
            id: TestNames.messageID(), reference: "FWI-\(Int.random(in: 100_000...999_999))", rag: rag,
            receivedAt: receivedAt, referrer: "spa-worker-17",
            reason: "School reports bruising to the child's arm and a disclosure of shouting at home.",
            subject: Person(
                forename: "Ellie", surname: "Testperson", dateOfBirth: LocalDate(year: 2016, month: 3, day: 14),
                gender: "female", nhsNumber: "9434765919", upn: "A123456789012", address: "1 Sample Street, Chatham",
                postcode: "ME4 4AA"),
            household: [
                Person(
                    role: "mother", forename: "Jo", surname: "Testperson",
                    dateOfBirth: LocalDate(year: 1990, month: 7, day: 2))
            ],
            agencies: agencies,
            consent: consent ?? .given(by: "mother", at: now),
            lawfulBasis: LawfulBasis(
                article6: .publicTask, article9: .substantialPublicInterest, article10: .safeguardingChildren))
    }
}

/// A small agency for tests: consumes its queue as its own broker user, opens each research request, and
/// answers with a sealed response (after `delay`, or never when `answers` is false); a correction it confirms at
/// once (when `answers`). It remembers everything it received, by kind, deduplicated by message id as a real
/// adapter would.
public final class TestAgency: Sendable {
    public struct Received: Sendable {
        public var requests: [ResearchRequest] = []
        public var notices: [Notice] = []
        public var corrections: [Correction] = []
        public var breachNotices: [BreachNotice] = []
        /// The stages of the challenges it raised, as the hub told it.
        public var challengeStages: [ChallengeStageRecord] = []
        /// The outcomes of the enquiries it answered (`mash.outcome/1`).
        public var outcomes: [EnquiryOutcome] = []
        public var messageIDs: Set<String> = []
        public var duplicates = 0
    }

    public let id: String
    public let received = Locked(Received())
    private let hub: TestHub
    private let connection: AMQPConnection
    private let task: Locked<Task<Void, Never>?> = Locked(nil)
    private let answers: Bool
    private let delay: Duration

    public init(_ id: String, hub: TestHub, broker: TestBroker, answers: Bool = true, delay: Duration = .zero)
        async throws
    {
        self.id = id
        self.hub = hub
        self.answers = answers
        self.delay = delay
        connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: try broker.url(asUser: id), connectionName: "test agency \(id)"))
        let deliveries = try await connection.consume(queue: "agency.\(id).enquiries")
        // One heartbeat, as a real adapter sends at start, so the hub does not list it as never heard from.
        let heartbeat = AdapterHeartbeat(
            agency: id, sentAt: Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)), pending: 0,
            lastResponseAt: nil, version: "test", interval: 30)
        try await connection.publish(
            try hub.sealed(heartbeat.json, type: .adapterHeartbeat, from: id, to: "coordinator"),
            exchange: "mash.responses", routingKey: id)
        let opener = try hub.opener(id)
        task.withLock {
            $0 = Task { [self] in
                do {
                    for try await delivery in deliveries {
                        try await handle(delivery, opener: opener)
                    }
                } catch {}
            }
        }
    }

    private func handle(_ delivery: Delivery, opener: Opener) async throws {
        let opened = try opener.open(String(decoding: delivery.body, as: UTF8.self))
        let isNew = received.withLock { state -> Bool in
            let inserted = state.messageIDs.insert(opened.messageID).inserted
            if !inserted { state.duplicates += 1 }
            return inserted
        }
        guard isNew else { return try delivery.ack() }
        if opened.type == DocumentType.researchRequest.rawValue {
            let request = try ResearchRequest(json: opened.payload, source: "test agency \(id)")
            received.withLock { $0.requests.append(request) }
            if answers {
                if delay > .zero { try await Task.sleep(for: delay) }
                try await respond(to: request)
            }
        } else if opened.type == DocumentType.correction.rawValue {
            let correction = try Correction(json: opened.payload, source: "test agency \(id)")
            let held = received.withLock { state in
                state.corrections.append(correction)
                return state.requests.filter { correction.cases.contains($0.enquiryID) }.count
            }
            if answers {
                let receipt = CorrectionReceipt(
                    correctionID: correction.correctionID, copyID: correction.copyID,
                    result: held > 0 ? .applied : .notHeld, copies: held, at: Date())
                try await connection.publish(
                    try hub.sealed(receipt.json, type: .correctionReceipt, from: id, to: "coordinator"),
                    exchange: "mash.responses", routingKey: id)
            }
        } else if opened.type == DocumentType.outcome.rawValue {
            let outcome = try EnquiryOutcome(json: opened.payload, source: "test agency \(id)")
            received.withLock { $0.outcomes.append(outcome) }
        } else if opened.type == DocumentType.challengeStage.rawValue {
            let stage = try ChallengeStageRecord(json: opened.payload, source: "test agency \(id)")
            received.withLock { $0.challengeStages.append(stage) }
        } else if opened.type == DocumentType.breachNotice.rawValue {
            let notice = try BreachNotice(json: opened.payload, source: "test agency \(id)")
            received.withLock { $0.breachNotices.append(notice) }
        } else {
            let notice = try Notice(json: opened.payload, source: "test agency \(id)")
            received.withLock { $0.notices.append(notice) }
        }
        try delivery.ack()
    }

    /// Challenges a decision, as an adapter does: sealed to the coordinator, on `mash.responses`.
    public func challenge(_ challenge: Challenge) async throws {
        try await connection.publish(
            try hub.sealed(challenge.json, type: .challenge, from: id, to: "coordinator"),
            exchange: "mash.responses", routingKey: id)
    }

    /// The answer this agency gives: Health holds special category data, Police criminal offence data, the
    /// others a plain note; Turning Point finds no trace.
    public func response(to request: ResearchRequest, as agency: String? = nil) -> ResearchResponse {
        let finding: Finding? =
            switch id {
            case "health": Finding(summary: "Seen in A&E, 2026-10-02.", category: .specialCategory)
            case "police": Finding(summary: "Attended a domestic incident at the address.", category: .criminalOffence)
            case "turning-point": nil
            default: Finding(summary: "Known to \(id).", category: .personal)
            }
        return ResearchResponse(
            requestID: request.requestID, enquiryID: request.enquiryID, agency: agency ?? id,
            outcome: finding == nil ? .noTrace : .informationHeld, findings: finding.map { [$0] } ?? [],
            lawfulBasis: LawfulBasis(
                article6: .publicTask, article9: id == "health" ? .substantialPublicInterest : nil,
                article10: id == "police" ? .safeguardingChildren : nil),
            respondedAt: Date())
    }

    /// Publishes a response to `request`, sealed by `sender` (this agency unless a test forges another).
    public func respond(to request: ResearchRequest, sender: String? = nil) async throws {
        let message = try hub.sealed(
            response(to: request, as: sender).json, type: .researchResponse, from: sender ?? id, to: "coordinator")
        try await connection.publish(message, exchange: "mash.responses", routingKey: id)
    }

    /// Publishes an already sealed message again (a duplicate).
    public func publish(_ message: OutboundMessage) async throws {
        try await connection.publish(message, exchange: "mash.responses", routingKey: id)
    }

    public func stop() async {
        task.value?.cancel()
        await connection.close()
    }
}
