import AMQP
import Coordinator
import Foundation
import Logging
import MASHConfig
import MASHCore
import MASHTesting

// The coordinator side of `make bench`: COUNT Red enquiries, at most IN_FLIGHT open at once, each fanned out
// to the seven test agencies (answering at once) and completed as one decision package. Everything is real:
// sealing, the SQLite store with its outbox and ledger, the broker. Prints one JSON line with enquiries per
// second and open-to-package latency percentiles (from the SPA's publish to the package's arrival).

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[1]), let inFlight = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: coordinator-bench COUNT IN_FLIGHT\n".utf8))
    exit(2)
}

let broker = try TestBroker.fromEnvironment()
let hub = try TestHub("bench")
let scratch = try ScratchDirectory("coordinator-bench")
let admin = try await broker.connect("coordinator bench")
try await TestHub.purgeQueues(admin)

var logger = Logger(label: "bench.coordinator")
logger.logLevel = .error
let settings = CoordinatorSettings(
    broker: try broker.url(asUser: "coordinator"), keysDirectory: hub.keys.path,
    storePath: scratch.file("coordinator.sqlite"), definitionsFile: Repository.path("deploy/rabbitmq/definitions.json"),
    routing: try RoutingConfiguration.load(file: Repository.path("Config/routing.yaml")),
    calendar: try CoordinatorSettings.calendar(holidaysFile: Repository.path("Config/calendar/bank-holidays.json")))
let coordinator = try Coordinator(settings: settings, logger: logger)
let ready = Locked(false)
let running = Task { try await coordinator.run { ready.withLock { $0 = true } } }
while !ready.value { try await Task.sleep(for: .milliseconds(20)) }

var agencies: [TestAgency] = []
for id in TestHub.agencies { agencies.append(try await TestAgency(id, hub: hub, broker: broker)) }
let spa = try await AMQPConnection.connect(
    AMQPConfiguration(url: try broker.url(asUser: "spa"), connectionName: "bench spa"))
let packages = try await admin.consume(queue: "decision-maker.packages", prefetch: 256)

// Enquiries are sealed before the clock starts: the SPA's own sealing is not the gateway's work.
let enquiries = try (0..<count).map { _ in
    let enquiry = TestHub.enquiry(rag: .red)
    return (enquiry.id, try hub.sealed(enquiry.json, type: .enquiry, from: "spa", to: "coordinator"))
}

let clock = ContinuousClock()
let opened = Locked<[String: ContinuousClock.Instant]>([:])
var latencies: [Double] = []
let start = clock.now
var next = 0
var open = 0
while latencies.count < count {
    while open < inFlight && next < count {
        let (id, message) = enquiries[next]
        opened.withLock { $0[id] = clock.now }
        try await spa.publish(message, exchange: "mash.intake", routingKey: "enquiry")
        next += 1
        open += 1
    }
    let delivery = try await packages.next(within: .seconds(120), "a decision package")
    let arrived = clock.now
    guard let id = delivery.properties.headers["x-mash-enquiry"]?.string, let sent = opened.value[id] else {
        FileHandle.standardError.write(Data("a package for an enquiry this run did not open\n".utf8))
        exit(1)
    }
    latencies.append((arrived - sent).inSeconds * 1000)
    try delivery.ack()
    open -= 1
}
let elapsed = (clock.now - start).inSeconds

running.cancel()
_ = try? await running.value
for agency in agencies { await agency.stop() }
await spa.close()
await admin.close()
scratch.remove()
hub.keys.remove()

let sorted = latencies.sorted()
let p50 = sorted[min(sorted.count - 1, sorted.count / 2)]
let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
print(
    "{\"enquiries\": \(count), \"in_flight\": \(inFlight), \"enquiries_per_s\": \(Double(count) / elapsed), "
        + "\"p50_ms\": \(p50), \"p99_ms\": \(p99), \"messages_per_enquiry\": 16}")
