import AMQP
import Coordinator
import Foundation
import GRDB
import Logging
import MASHConfig
import MASHCore
import MASHTesting
import Sealing

// `roll-bench WEEK1 WEEK2 HOLIDAYS`: every school's week-1 roll, then every week-2 roll, through the
// coordinator's own ingest (parse and clean, diff against the roll in force, seal and store the roll and its
// index, seal the returns and CME alerts into the outbox with their record-of-sharing entries, fsync on
// commit). No broker: the outbox is left for a relay. Prints JSON for week 2: records, seconds, rate, peak RSS.

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: roll-bench WEEK1 WEEK2 HOLIDAYS\n".utf8))
    exit(2)
}
let (week1, week2, holidaysFile) = (arguments[1], arguments[2], arguments[3])
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

@MainActor func ingest(_ folder: String) async throws -> (records: Int, seconds: Double) {
    var records = 0
    let start = ContinuousClock.now
    for name in names {
        let content = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
        let file = SchoolRollFile(urn: String(name.dropLast(4)), format: .csv, qualifier: .full, content: content)
        records += content.utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } - 1
        try await coordinator.ingestRoll(file, rollID: UUID().uuidString.lowercased(), from: "orchestra")
    }
    let elapsed = ContinuousClock.now - start
    return (records, elapsed.inSeconds)
}

/// The same work as the Python baseline, in MASHCore alone: read both weeks' files and diff them.
@MainActor func parseAndDiff() throws -> Double {
    let start = ContinuousClock.now
    for name in names {
        let urn = String(name.dropLast(4))
        let before = try SchoolRoll(
            csv: Array(try Data(contentsOf: URL(fileURLWithPath: week1 + "/" + name))), urn: urn, qualifier: .full,
            source: name)
        let after = try SchoolRoll(
            csv: Array(try Data(contentsOf: URL(fileURLWithPath: week2 + "/" + name))), urn: urn, qualifier: .full,
            source: name)
        _ = RollDiff.compare(
            previous: before.pupils, with: after, calendar: schools[urn]?.calendar,
            policy: RollPolicy(firstYearGroup: "R"))
    }
    let elapsed = ContinuousClock.now - start
    return elapsed.inSeconds
}
let coreSeconds = try parseAndDiff()

_ = try await ingest(week1)
let (records, seconds) = try await ingest(week2)
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let summary = try coordinator.store.read { db in
    (
        try Int.fetchOne(db, sql: "SELECT SUM(leavers) FROM roll_import WHERE status = 'accepted'") ?? 0,
        try Int.fetchOne(db, sql: "SELECT SUM(joiners) FROM roll_import WHERE status = 'accepted'") ?? 0,
        try Int.fetchOne(db, sql: "SELECT SUM(flags) FROM roll_import WHERE status = 'accepted'") ?? 0
    )
}
print(
    String(
        decoding: try JSONSerialization.data(
            withJSONObject: [
                "records": records, "seconds": seconds, "records_per_s": Double(records) / seconds,
                "parse_and_diff_records_per_s": Double(records) / coreSeconds,
                "schools": names.count, "leavers": summary.0, "joiners": summary.1, "flags": summary.2,
                "peak_rss_mb": Double(usage.ru_maxrss) / 1024,
            ], options: [.sortedKeys]), as: UTF8.self))
