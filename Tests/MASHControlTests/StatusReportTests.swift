import Coordinator
import Foundation
import MASHConfig
import MASHTesting
import Testing

@testable import MASHControl

@Suite("mashctl status: judging the figures")
struct StatusReportTests {
    let now = Date(timeIntervalSince1970: 1_795_000_000)

    func queue(_ name: String, ready: Int, consumers: Int, age: Double? = nil, dead: Int = 0) -> StatusReport.Queue {
        StatusReport.Queue(
            agency: Format.owner(name), queue: name, type: "quorum", ready: ready, unacked: 0, consumers: consumers,
            publishRate: 0, deliverRate: 0, ackRate: 0, oldestWaitingSeconds: age, deadLetterQueue: name + ".dlq",
            deadLetters: dead)
    }

    @Test("healthy queues, idle queues without consumers and an empty DLQ exit 0")
    func healthy() {
        var report = StatusReport(generatedAt: now, source: "test")
        report.queues = [
            queue("agency.police.enquiries", ready: 0, consumers: 1),
            queue("agency.turning-point.enquiries", ready: 0, consumers: 0),
            queue("coordinator.intake", ready: 3, consumers: 1, age: 2),
        ]
        report.enquiries = [.init(rag: "red", open: 2, atRisk: 1, breached: 0)]
        report.evaluate(StatusThresholds())
        #expect(report.level == .healthy)
        #expect(report.findings.isEmpty)
    }

    @Test("waiting with no consumer warns; the oldest message's age and a DLQ's depth escalate by threshold")
    func levels() {
        var report = StatusReport(generatedAt: now, source: "test")
        report.queues = [
            queue("agency.yos.enquiries", ready: 1, consumers: 0, age: 60),
            queue("agency.health.enquiries", ready: 4, consumers: 0, age: 31 * 60),
            queue("agency.police.enquiries", ready: 0, consumers: 1, dead: 2),
        ]
        report.adapters = [
            .init(agency: "housing", lastHeartbeatAt: now.addingTimeInterval(-180), pending: 0),
            .init(agency: "police", lastHeartbeatAt: now.addingTimeInterval(-5), pending: 1),
        ]
        report.enquiries = [
            .init(rag: "red", open: 3, atRisk: 0, breached: 1, awaitingDecision: 2, decisionOverdue: 1)
        ]
        report.evaluate(StatusThresholds())
        #expect(report.level == .critical)
        #expect(
            report.findings.map { "\($0.level.label) \($0.subject): \($0.message)" } == [
                "CRITICAL agency.health.enquiries: 4 waiting with no consumer, oldest waiting 31m00s",
                "WARNING adapter housing: no heartbeat for 3m00s",
                "WARNING agency.police.enquiries: 2 in agency.police.enquiries.dlq",
                "WARNING agency.yos.enquiries: 1 waiting with no consumer",
                "WARNING decisions: 1 decision package is past the decision deadline with no decision recorded",
                "WARNING enquiries: 1 open enquiry is past a deadline",
            ])
        #expect(report.table().contains("red                 3        0         1         2     1"))
    }

    @Test("a challenge past its stage's time warns, naming how many of the open ones; none late is healthy")
    func challenges() {
        var report = StatusReport(generatedAt: now, source: "test")
        report.challengesOpen = 3
        report.challengesOverdue = 0
        report.evaluate(StatusThresholds())
        #expect(report.level == .healthy)
        report.challengesOverdue = 2
        report.evaluate(StatusThresholds())
        #expect(report.level == .warning)
        #expect(
            report.findings.map { "\($0.level.label) \($0.subject): \($0.message)" } == [
                "WARNING Challenges: 2 of 3 open challenges past their stage's time (mashctl challenges list)"
            ])
    }

    @Test("the table fits 80 columns, names unknown columns, and shows the oldest age as ? when unknown")
    func table() {
        var report = StatusReport(generatedAt: now, source: "AMQP passive declares")
        report.unknownColumns = ["TYPE", "UNACK"]
        var row = queue("practice-manager.alerts", ready: 2, consumers: 0)
        row.unacked = nil
        row.type = nil
        report.queues = [row]
        report.notes = [String(repeating: "a long note ", count: 12)]
        report.evaluate(StatusThresholds())
        let lines = report.table().split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines[1] == "practice-man~ alerts     ?          2     ?    0   0.0   0.0   0.0      ?    0")
        #expect(lines.contains("Unknown (AMQP passive declares): TYPE, UNACK."))
        #expect(lines.last == "Status: WARNING (exit 1).")
    }

    @Test("ages read at a glance")
    func ages() {
        #expect(Format.age(42) == "42s")
        #expect(Format.age(724) == "12m04s")
        #expect(Format.age(3 * 3600 + 300) == "3h05m")
        #expect(Format.age(2 * 86400 + 4 * 3600) == "2d04h")
        #expect(Format.signedAge(-90) == "-1m30s")
    }

    @Test("thresholds: defaults for what is left out; a mistake names the line and key")
    func thresholds() throws {
        let scratch = try ScratchDirectory("thresholds")
        defer { scratch.remove() }
        let good = scratch.file("good.yaml")
        try "oldestWaiting: {warning: 10s, critical: 1m}\n".write(toFile: good, atomically: true, encoding: .utf8)
        let loaded = try StatusThresholds.load(file: good)
        #expect(loaded.oldestWaiting == .init(warning: 10, critical: 60))
        #expect(loaded.deadLetters == StatusThresholds().deadLetters)

        let bad = scratch.file("bad.yaml")
        try "deadLetters: {warning: 1, critical: 50}\nadapterSilence:\n  warning: 2m\n  critical: soon\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        #expect {
            try StatusThresholds.load(file: bad)
        } throws: { error in
            "\(error)".contains("bad.yaml:4: 'adapterSilence.critical'")
                && "\(error)".contains("'soon' is not a duration")
        }
        let typo = scratch.file("typo.yaml")
        try "deadLetter: {warning: 1, critical: 50}\n".write(toFile: typo, atomically: true, encoding: .utf8)
        #expect {
            try StatusThresholds.load(file: typo)
        } throws: { error in
            "\(error)".contains("typo.yaml:1: 'deadLetter': is not a known key")
        }
    }
}
