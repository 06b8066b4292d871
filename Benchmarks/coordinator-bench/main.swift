import AMQP
import Coordinator
import Foundation
import Logging
import MASHConfig
import MASHCore
import MASHPostgres
import MASHService
import MASHTesting

// The coordinator side of `make bench`: COUNT Red enquiries, at most IN_FLIGHT open at once, each fanned out
// to the seven test agencies (answering at once) and completed as one decision package. Everything is real:
// sealing, the SQLite store with its outbox and ledger, the broker. With `--process PATH` the coordinator is
// `mash-coordinator` at PATH, run as its own process, so its own CPU time can be read apart from the test
// agencies' and the SPA's (this process); without it, it runs in this process. Prints one JSON line with
// enquiries per second, open-to-package latency percentiles (from the SPA's publish to the package's arrival)
// and, with --process, the coordinator's CPU seconds (user and system, from /proc/<pid>/stat) over the run —
// from its ready line to the last package, so start-up (migrations, topology) is not counted.
// With MASH_BENCH_POSTGRES_URL (a libpq URL of the PostgreSQL pair, its password in a passfile), the process keeps
// its store on PostgreSQL, in a fresh schema of this run's own, instead of SQLite.

let arguments = CommandLine.arguments
guard arguments.count == 3 || (arguments.count == 5 && arguments[3] == "--process"),
    let count = Int(arguments[1]), let inFlight = Int(arguments[2])
else {
    FileHandle.standardError.write(Data("usage: coordinator-bench COUNT IN_FLIGHT [--process mash-coordinator]\n".utf8))
    exit(2)
}
let executable = arguments.count == 5 ? arguments[4] : nil

let broker = try TestBroker.fromEnvironment()
let hub = try TestHub("bench")
let scratch = try ScratchDirectory("coordinator-bench")
let admin = try await broker.connect("coordinator bench")
try await TestHub.purgeQueues(admin)

/// A process's CPU time so far (user + system), from /proc/<pid>/stat's utime and stime.
func cpuSeconds(of pid: pid_t) throws -> Double {
    let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
    // The command name (field 2) is in parentheses and may hold spaces: count from after its closing one.
    let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
        throw CocoaError(.fileReadCorruptFile)
    }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func ownCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

let storePath = scratch.file("coordinator.sqlite")
let routingFile = Repository.path("Config/routing.yaml")
let holidaysFile = Repository.path("Config/calendar/bank-holidays.json")
let definitionsFile = Repository.path("deploy/rabbitmq/definitions.json")
var child: ChildProcess?
var running: Task<Void, any Error>?
/// `--postgres` for the process: the pair's URL with a fresh schema of this run's as its search path.
func postgresArguments() throws -> [String] {
    guard let base = ProcessInfo.processInfo.environment["MASH_BENCH_POSTGRES_URL"] else { return [] }
    let schema = "bench_\(getpid())"
    try PostgresStore(conninfo: base).write { db in
        try db.execute(sql: "DROP SCHEMA IF EXISTS \(schema) CASCADE; CREATE SCHEMA \(schema)")
    }
    return ["--postgres", base + "&options=-csearch_path%3D" + schema]
}

if let executable {
    let url = try broker.url(asUser: "coordinator")
    let process = try ChildProcess(
        executable,
        try postgresArguments() + [
            "--broker", "amqp://\(url.user):\(url.password)@\(url.host):\(url.port)/\(url.vhost)",
            "--keys", hub.keys.path, "--store", storePath, "--routing", routingFile, "--holidays", holidaysFile,
            "--definitions", definitionsFile, "--operations-port", "off", "--log-level", "error",
        ], log: scratch.file("coordinator.log"))
    try await process.waitFor("mash-coordinator ready", within: .seconds(120))
    child = process
} else {
    var logger = Logger(label: "bench.coordinator")
    logger.logLevel = .error
    let settings = CoordinatorSettings(
        broker: try broker.url(asUser: "coordinator"), keysDirectory: hub.keys.path, storePath: storePath,
        definitionsFile: definitionsFile, routing: try RoutingConfiguration.load(file: routingFile),
        calendar: try CoordinatorSettings.calendar(holidaysFile: holidaysFile))
    let coordinator = try Coordinator(settings: settings, logger: logger)
    let ready = Locked(false)
    running = Task { try await coordinator.run { ready.withLock { $0 = true } } }
    while !ready.value { try await Task.sleep(for: .milliseconds(20)) }
}

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
let cpuBefore = try child.map { try cpuSeconds(of: $0.pid) }
let ownBefore = ownCPUSeconds()
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
let coordinatorCPU = try child.map { try cpuSeconds(of: $0.pid) - cpuBefore! }
let ownCPU = ownCPUSeconds() - ownBefore

if let child { child.stop(SIGTERM) }
running?.cancel()
_ = try? await running?.value
for agency in agencies { await agency.stop() }
await spa.close()
await admin.close()
scratch.remove()
hub.keys.remove()

let sorted = latencies.sorted()
let p50 = sorted[min(sorted.count - 1, sorted.count / 2)]
let p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
var line =
    "{\"enquiries\": \(count), \"in_flight\": \(inFlight), \"enquiries_per_s\": \(Double(count) / elapsed), "
    + "\"p50_ms\": \(p50), \"p99_ms\": \(p99), \"messages_per_enquiry\": 16, \"elapsed_s\": \(elapsed), "
    + "\"peers_cpu_s\": \(ownCPU)"
if let coordinatorCPU { line += ", \"coordinator_cpu_s\": \(coordinatorCPU)" }
print(line + "}")
