import AMQP
import Adapter
import Foundation
import Logging
import MASHAgency
import MASHCore
import MASHTesting

// The adapter side of `make bench`: COUNT research requests, sealed by the hub before the clock starts, put on
// the police queue at once; the police adapter (the shipped Config/agencies/police.yaml over the synthetic
// extract in EXTRACTS) opens each, stores it, acks, researches it with the identity matcher, seals the answer
// and relays it through its outbox. Prints one JSON line: answers per second, first request to last answer.

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: adapter-bench COUNT EXTRACTS\n".utf8))
    exit(2)
}
let extracts = URL(fileURLWithPath: arguments[2]).standardizedFileURL.path

let broker = try TestBroker.fromEnvironment()
let hub = try TestHub("adapter-bench")
let scratch = try ScratchDirectory("adapter-bench")
let admin = try await broker.connect("adapter bench")
try await TestHub.purgeQueues(admin)

let shipped = try Repository.shippedAgencyConfig(
    "police", keys: hub.keys.path, extracts: extracts, adapters: scratch.file("adapters"))
let file = scratch.file("police.yaml")
try shipped.write(toFile: file, atomically: true, encoding: .utf8)
var configuration = try AdapterConfiguration.load(file: file)
configuration.operationsPort = nil
var logger = Logger(label: "bench.adapter")
logger.logLevel = .error
let adapter = try Adapter(configuration: configuration, broker: try broker.url(asUser: "police"), logger: logger)
let ready = Locked(false)
let running = Task { try await adapter.run { ready.withLock { $0 = true } } }
while !ready.value { try await Task.sleep(for: .milliseconds(20)) }

// Requests are sealed before the clock starts: the hub's sealing is not the adapter's work.
let enquiry = TestHub.enquiry()
let requests = try (0..<count).map { _ in
    let request = ResearchRequest(
        requestID: TestNames.messageID(), enquiryID: enquiry.id, agency: "police", rag: .red,
        dueBy: Date().addingTimeInterval(4 * 3600), purpose: "bench", consent: "given",
        lawfulBasis: enquiry.lawfulBasis, subject: enquiry.subject, household: enquiry.household,
        reason: enquiry.reason)
    return try hub.sealed(request.json, type: .researchRequest, from: "coordinator", to: "police")
}
let answers = try await admin.consume(queue: "coordinator.responses", prefetch: 256)

let clock = ContinuousClock()
let start = clock.now
for request in requests { try await admin.publish(request, exchange: "mash.enquiries", routingKey: "police") }
var answered = 0
while answered < count {
    let delivery = try await answers.next(within: .seconds(120), "an answer")
    if delivery.properties.type == DocumentType.researchResponse.rawValue { answered += 1 }
    try delivery.ack()
}
let elapsed = (clock.now - start).inSeconds
running.cancel()
_ = try? await running.value
print(
    "{\"answers\": \(count), \"answers_per_s\": \(Double(count) / elapsed), \"messages_per_answer\": 2}")
exit(0)
