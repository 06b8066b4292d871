import AMQP
import Coordinator
import Dispatch
import Foundation
import GRDB
import Logging
import MASHConfig
import MASHCore
import MASHTesting
import Sealing
import Synchronization

// `roll-bench WEEK1 WEEK2 HOLIDAYS [--part all|parse|ingest|none]` or `roll-bench --ctf FOLDER`
//
// parse: the work of the Python baseline in MASHCore alone (read both weeks' files, parse, diff each school).
// ingest: every school's week-1 roll, then every week-2 roll, each week as one feed through the coordinator's own
// ingest (parse and clean, diff against the roll in force, seal and store the roll and its index, seal the
// returns and CME alerts into the outbox with their record-of-sharing entries, one fsync for the feed). No
// broker: the outbox is left for a relay. none: the set-up alone, for `make bench-instructions` to subtract.
// Prints JSON: records (week 2), rates, peak RSS and the set-up's peak RSS.
//
// The top level stays synchronous (the async work runs in a task the main thread waits for), so valgrind can
// run it: Dispatch's main-queue loop, which an async top level starts, stops valgrind 3.19.

let arguments = CommandLine.arguments
// `roll-bench --ctf FOLDER`: read every CTF file in FOLDER into a roll (`SchoolRoll(ctf:)`, the byte-level
// reader), timed; prints JSON: records, seconds, records per second.
if arguments.count == 3 && arguments[1] == "--ctf" {
    let folder = arguments[2]
    let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".xml") }.sorted()
    let start = ContinuousClock.now
    var records = 0
    for name in files {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
        records += try SchoolRoll(ctf: bytes, source: name).pupils.count
    }
    let seconds = (ContinuousClock.now - start).inSeconds
    print(#"{"records": \#(records), "seconds": \#(seconds), "records_per_s": \#(Double(records) / seconds)}"#)
    exit(0)
}
guard arguments.count == 4 || (arguments.count == 6 && arguments[4] == "--part") else {
    FileHandle.standardError.write(Data("usage: roll-bench WEEK1 WEEK2 HOLIDAYS [--part all|parse|ingest|none]\n".utf8))
    exit(2)
}
let (week1, week2, holidaysFile) = (arguments[1], arguments[2], arguments[3])
let part = arguments.count == 6 ? arguments[5] : "all"
let scratch = try ScratchDirectory("roll-bench")
defer { scratch.remove() }
for party in ["coordinator", "education", "spa", "orchestra"] {
    try KeyDirectory.generate(agency: party, in: scratch.path)
}

let calendar = try CoordinatorSettings.calendar(holidaysFile: holidaysFile)
let names = try FileManager.default.contentsOfDirectory(atPath: week2).filter { $0.hasSuffix(".csv") }.sorted()
var schools: [String: SchoolConfiguration] = [:]
for name in names {
    let urn = String(name.dropLast(4))
    schools[urn] = try SchoolConfiguration(
        yaml: """
            urn: "\(urn)"
            name: School \(urn)
            dayStarts: "08:45"
            firstYearGroup: R
            terms: [{ first: 2026-09-02, last: 2026-10-23 }, { first: 2026-11-02, last: 2026-12-18 }]
            """, file: "bench", bankHolidays: calendar.holidays)
}
var settings = CoordinatorSettings(
    broker: try AMQPURL("amqp://bench:unused@127.0.0.1:1/mash"), keysDirectory: scratch.path,
    storePath: scratch.file("coordinator.sqlite"),
    definitionsFile: "", routing: try RoutingConfiguration.load(file: "Config/routing.yaml"), calendar: calendar)
settings.schools = schools
var logger = Logger(label: "roll-bench")
logger.logLevel = .error
let coordinator = try Coordinator(settings: settings, logger: logger)
let schoolsByURN = schools

/// One week's files as one feed, read one file at a time inside the transaction. The pupils it held are
/// counted from the store afterwards, outside the timing.
func ingest(_ folder: String) async throws -> (records: Int, seconds: Double) {
    func pupilsStored() throws -> Int {
        try coordinator.store.read { try Int.fetchOne($0, sql: "SELECT SUM(pupils) FROM roll_import") ?? 0 }
    }
    let before = try pupilsStored()
    let next = Mutex(0)
    let start = ContinuousClock.now
    try await coordinator.ingestRolls(from: "orchestra") {
        guard let name = next.withLock({ $0 < names.count ? names[$0] : nil }) else { return nil }
        next.withLock { $0 += 1 }
        let content = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        let file = SchoolRollFile(urn: String(name.dropLast(4)), format: .csv, qualifier: .full, content: content)
        return (file, UUID().uuidString.lowercased())
    }
    let elapsed = ContinuousClock.now - start
    return (try pupilsStored() - before, elapsed.inSeconds)
}

/// The same work as the Python baseline, in MASHCore alone: read both weeks' files and diff them.
func parseAndDiff() throws -> (records: Int, seconds: Double) {
    let start = ContinuousClock.now
    var records = 0
    for name in names {
        let urn = String(name.dropLast(4))
        let before = try SchoolRoll(
            csv: Array(try Data(contentsOf: URL(fileURLWithPath: week1 + "/" + name))), urn: urn, qualifier: .full,
            source: name)
        let after = try SchoolRoll(
            csv: Array(try Data(contentsOf: URL(fileURLWithPath: week2 + "/" + name))), urn: urn, qualifier: .full,
            source: name)
        records += after.pupils.count
        _ = RollDiff.compare(
            previous: before.pupils, with: after, calendar: schoolsByURN[urn]?.calendar,
            policy: RollPolicy(firstYearGroup: "R"))
    }
    let elapsed = ContinuousClock.now - start
    return (records, elapsed.inSeconds)
}

/// The process's peak resident memory so far, in MB.
func peakRSS() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

// What the feed itself needs is the peak less the set-up's (the runtime, 600 school files, keys, the store).
var result: [String: Any] = ["schools": names.count, "setup_rss_mb": peakRSS()]
if part == "all" || part == "parse" {
    let (records, seconds) = try parseAndDiff()
    result["records"] = records
    result["parse_and_diff_records_per_s"] = Double(records) / seconds
}
if part == "all" || part == "ingest" {
    let done = DispatchSemaphore(value: 0)
    let outcome = Mutex<Result<(Int, Double), any Error>?>(nil)
    Task.detached {
        let ran: Result<(Int, Double), any Error>
        do {
            _ = try await ingest(week1)
            ran = .success(try await ingest(week2))
        } catch {
            ran = .failure(error)
        }
        outcome.withLock { $0 = ran }
        done.signal()
    }
    done.wait()
    let (records, seconds) = try outcome.withLock { $0! }.get()
    let summary = try coordinator.store.read { db in
        (
            try Int.fetchOne(db, sql: "SELECT SUM(leavers) FROM roll_import WHERE status = 'accepted'") ?? 0,
            try Int.fetchOne(db, sql: "SELECT SUM(joiners) FROM roll_import WHERE status = 'accepted'") ?? 0,
            try Int.fetchOne(db, sql: "SELECT SUM(flags) FROM roll_import WHERE status = 'accepted'") ?? 0
        )
    }
    result["records"] = records
    result["seconds"] = seconds
    result["records_per_s"] = Double(records) / seconds
    result["leavers"] = summary.0
    result["joiners"] = summary.1
    result["flags"] = summary.2
}
result["peak_rss_mb"] = peakRSS()
print(String(decoding: JSONText.encode(result), as: UTF8.self))
