import AMQP
import Foundation
import MASHCore
import MASHTesting
import Sealing

/// What adapter tests add to the harness: generated extracts, agency configuration files written into the
/// scratch folder, adapters started as their own processes, and a stand-in hub that sends research requests and
/// collects what comes back on coordinator.responses.
extension Harness {
    /// The synthetic extracts, generated once per test run with the shipped generator and its fixed seed.
    static let extracts: Result<String, any Error> = Result {
        let folder = try ScratchDirectory("extracts")
        _ = try Shell.run(
            "/usr/bin/env", ["python3", Repository.path("scripts/synthetic-extracts.py"), "--out", folder.path])
        return folder.path
    }

    static var python: String { ProcessInfo.processInfo.environment["MASH_PYTHON"] ?? "python3" }

    /// A shipped `Config/agencies/<id>.yaml`, pointed at this test's keys, extracts and scratch store.
    func shippedConfig(_ agency: String) throws -> String {
        let text = try Repository.shippedAgencyConfig(
            agency, keys: hub.keys.path, extracts: try Self.extracts.get(), adapters: scratch.file("adapters")
        ).replacingOccurrences(of: "heartbeat: 30s", with: "heartbeat: 1s")
        let path = scratch.file("\(agency).yaml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts Tests/Interop/research_service.py (outcomes it takes go to `outcomeLog`) and returns its port.
    func startResearchService(outcomeLog: String? = nil) async throws -> Substring {
        let portFile = scratch.file("service.port")
        let service = try ChildProcess(
            "/usr/bin/env",
            [Self.python, "-u", Repository.path("Tests/Interop/research_service.py")] + (outcomeLog.map { [$0] } ?? []),
            log: portFile)
        processes.withLock { $0.append(service) }
        try await eventually("the research service's port") {
            Int((try? String(contentsOfFile: portFile, encoding: .utf8))?.split(separator: "\n").first ?? "") != nil
        }
        return try String(contentsOfFile: portFile, encoding: .utf8).split(separator: "\n")[0]
    }

    /// A configuration for `agency` with the given research section (indented by two spaces).
    func adapterConfig(
        _ agency: String, research: String, lawfulBasis: String = "article6: public-task", extra: String = ""
    ) throws -> String {
        let text = """
            agency: \(agency)
            name: Test \(agency)
            broker:
              url: amqp://\(agency)@127.0.0.1:1/mash
            keys: \(hub.keys.path)
            store: \(scratch.file("adapters/\(agency)-\(UUID().uuidString).sqlite"))
            receives: [forename, surname, dateOfBirth, gender, nhsNumber, upn, pncID, address, postcode, household, reason]
            lawfulBasis:
              \(lawfulBasis)
            research:
            \(research)
            heartbeat: 1s
            \(extra)
            """
        let path = scratch.file("\(agency)-\(UUID().uuidString).yaml")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Starts `mash-adapter` with `config`, connecting as the agency's broker user, and waits until it consumes.
    @discardableResult
    func startAdapter(_ config: String, agency: String, log: String? = nil, operationsPort: String = "off") async throws
        -> ChildProcess
    {
        let url = try broker.url(asUser: agency)
        let process = try ChildProcess(
            ChildProcess.built("mash-adapter"),
            [
                "--config", config, "--broker",
                "amqp://\(url.user):\(url.password)@\(url.host):\(url.port)/\(url.vhost)", "--operations-port",
                "\(operationsPort)",
            ], log: log ?? scratch.file("adapter-\(agency).log"))
        processes.withLock { $0.append(process) }
        try await process.waitFor("mash-adapter \(agency) ready", within: .seconds(60))
        return process
    }

    /// A research request about the sample child, as the coordinator would send it.
    func researchRequest(to agency: String, consent: String = "given") -> ResearchRequest {
        let enquiry = TestHub.enquiry()
        return ResearchRequest(
            requestID: TestNames.messageID(), enquiryID: enquiry.id, agency: agency, rag: .red,
            dueBy: Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 4 * 3600).rounded(.down)),
            purpose: "test", consent: consent, lawfulBasis: enquiry.lawfulBasis, subject: enquiry.subject,
            household: enquiry.household, reason: enquiry.reason)
    }

    /// Publishes a sealed request to the agency's queue, signed as `sender` (the coordinator unless a test
    /// forges another).
    func send(_ request: ResearchRequest, from sender: String = "coordinator") async throws {
        let message = try hub.sealed(request.json, type: .researchRequest, from: sender, to: request.agency)
        try await admin.publish(message, exchange: "mash.enquiries", routingKey: request.agency)
    }
}

/// Collects everything adapters publish to coordinator.responses, opened as the coordinator.
final class ResponseCollector: Sendable {
    let responses = Locked<[ResearchResponse]>([])
    let heartbeats = Locked<[AdapterHeartbeat]>([])
    private let task: Task<Void, Never>

    init(_ harness: Harness) async throws {
        let deliveries = try await harness.admin.consume(queue: "coordinator.responses", prefetch: 50)
        let opener = try harness.hub.opener("coordinator")
        let responses = self.responses
        let heartbeats = self.heartbeats
        task = Task {
            do {
                for try await delivery in deliveries {
                    let opened = try opener.open(String(decoding: delivery.body, as: UTF8.self))
                    switch DocumentType(rawValue: opened.type) {
                    case .researchResponse:
                        let response = try ResearchResponse(json: opened.payload, source: "collected")
                        responses.withLock { $0.append(response) }
                    case .adapterHeartbeat:
                        let heartbeat = try AdapterHeartbeat(json: opened.payload, source: "collected")
                        heartbeats.withLock { $0.append(heartbeat) }
                    default: break
                    }
                    try delivery.ack()
                }
            } catch {}
        }
    }

    func answers(to requestID: String) -> [ResearchResponse] {
        responses.value.filter { $0.requestID == requestID }
    }

    /// Waits for the answer to `requestID`.
    func answer(to requestID: String, within limit: Duration = .seconds(30)) async throws -> ResearchResponse {
        try await within(limit, "the answer to \(requestID)") {
            while true {
                if let answer = self.answers(to: requestID).first { return answer }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func stop() { task.cancel() }
}
