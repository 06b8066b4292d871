import AMQP
import Coordinator
import Foundation
import GRDB
import MASHCore
import MASHPostgres
import MASHReadModel
import MASHService
import MASHTesting
import Sealing
import Testing

/// Two `mash-coordinator` processes on the PostgreSQL pair (a primary with its synchronous standby), the real
/// broker and test agencies: the active one killed, the primary database lost, the active one paused past its
/// lease. Each coordinator runs under a supervisor that starts it again when it ends, as systemd does
/// (deploy/systemd). Run by Tests/Deploy/check-postgres.sh with the pair up (MASH_PG_* set); without it
/// they fail, saying so.
@Suite("Coordinator failover on PostgreSQL: a standby coordinator, a promoted database", .serialized)
struct FailoverTests {
    /// Starts a coordinator again whenever it ends (systemd's Restart=always), each run logging to a file of its
    /// own: `slot-<name>-<n>.log`.
    final class Supervisor: Sendable {
        let name: String
        let harness: Harness
        let current = Locked<ChildProcess?>(nil)
        let starts = Locked(0)
        let stopped = Locked(false)
        private let task = Locked<Task<Void, Never>?>(nil)

        init(_ name: String, _ harness: Harness) {
            self.name = name
            self.harness = harness
        }

        func start() {
            task.withLock { task in
                task = Task { [self] in
                    while !stopped.value {
                        let n = starts.withLock {
                            $0 += 1; return $0
                        }
                        let log = harness.scratch.file("slot-\(name)-\(n).log")
                        guard let process = try? harness.launchProcess(log: log) else { return }
                        current.withLock { $0 = process }
                        try? await eventually("slot \(name)'s coordinator to end", within: .seconds(3600)) { [self] in
                            process.hasExited || stopped.value
                        }
                    }
                }
            }
        }

        /// Whether the running process has said it is ready (so holds the lease and consumes).
        var isActive: Bool {
            guard let process = current.value, !process.hasExited else { return false }
            return ((try? String(contentsOfFile: process.log, encoding: .utf8)) ?? "").contains(
                "mash-coordinator ready")
        }

        func stop() async {
            stopped.withLock { $0 = true }
            await task.value?.value
            current.value?.stop(SIGKILL)
        }

        /// The end of each run's log, for a failed test's output (the scratch folder goes with the harness).
        func report() {
            for n in 1...max(1, starts.value) {
                Harness.printEnd(of: harness.scratch.file("slot-\(name)-\(n).log"), "slot \(name), run \(n)")
            }
        }
    }

    /// Runs `body` with two supervised coordinators, `a` and `b`, and stops both before returning; when `body`
    /// throws, their logs are printed.
    static func withSlots(_ harness: Harness, _ body: ([Supervisor]) async throws -> Void) async throws {
        let slots = [Supervisor("a", harness), Supervisor("b", harness)]
        for slot in slots { slot.start() }
        do {
            try await body(slots)
        } catch {
            for slot in slots {
                await slot.stop()
                slot.report()
            }
            throw error
        }
        for slot in slots { await slot.stop() }
    }

    /// Waits until a coordinator other than `excluding` is active and returns it, with when it became so.
    static func active(_ slots: [Supervisor], within limit: Duration = .seconds(60), excluding: ChildProcess? = nil)
        async throws -> (ChildProcess, ContinuousClock.Instant)
    {
        let found = Locked<ChildProcess?>(nil)
        try await eventually("a coordinator to become active", within: limit) {
            let slot = slots.first { $0.isActive && $0.current.value?.pid != excluding?.pid }
            found.withLock { $0 = slot?.current.value }
            return found.value != nil
        }
        return (found.value!, .now)
    }

    /// The decision packages as the decision-maker's desk takes them: each delivery's message id and enquiry.
    final class PackageWatch: Sendable {
        let deliveries = Locked<[(messageID: String, enquiryID: String)]>([])
        private let task: Task<Void, any Error>

        init(_ harness: Harness) async throws {
            let consumer = try await harness.broker.connect("failover packages")
            let batches = try await consumer.consume(queue: "decision-maker.packages", prefetch: 100)
            let opener = try harness.hub.opener("decision-maker")
            let deliveries = self.deliveries
            task = Task {
                defer { Task { await consumer.close() } }
                while !Task.isCancelled {
                    let delivery = try await batches.next(within: .seconds(3600), "a package")
                    let opened = try opener.open(String(decoding: delivery.body, as: UTF8.self), now: Date())
                    let package = try DecisionPackage(json: opened.payload, source: "package")
                    deliveries.withLock { $0.append((opened.messageID, package.enquiry.id)) }
                    try delivery.ack()
                }
            }
        }

        /// Distinct packages (by message id) per enquiry.
        var packagesByEnquiry: [String: Set<String>] {
            deliveries.value.reduce(into: [:]) { $0[$1.enquiryID, default: []].insert($1.messageID) }
        }

        func stop() { task.cancel() }

        /// Every enquiry of `sent` has a package, exactly one (by message id: a package republished with its own
        /// id is the same package), and there are no others. Waits until the store's outbox holds nothing
        /// unpublished and every package it holds has been delivered here, so a doubled one would be counted.
        func expectOneEach(_ sent: [String], _ harness: Harness, store: PostgresStore) async throws {
            let short = Locked("the store not read yet")
            do {
                try await harness.eventually(
                    "every enquiry's package, and every package in the outbox", within: .seconds(120)
                ) { [self] in
                    guard
                        let (pending, packages) = try? store.read({ db in
                            (
                                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
                                    ?? 0,
                                try String.fetchAll(
                                    db, sql: "SELECT message_id FROM outbox WHERE type = ?",
                                    arguments: [DocumentType.decisionPackage.rawValue])
                            )
                        })
                    else { return false }
                    let byEnquiry = packagesByEnquiry
                    let undelivered = Set(packages).subtracting(deliveries.value.map(\.messageID))
                    let missing = sent.filter { byEnquiry[$0] == nil }
                    short.withLock {
                        $0 =
                            "\(pending) unpublished in the outbox, \(undelivered.count) of its \(packages.count) "
                            + "packages not delivered, \(missing.count) of \(sent.count) enquiries without one"
                    }
                    return pending == 0 && undelivered.isEmpty && missing.isEmpty
                }
            } catch {
                Issue.record("the packages did not all come: \(short.value)")
                throw error
            }
            let byEnquiry = packagesByEnquiry
            for id in sent {
                #expect(byEnquiry[id]?.count == 1, "enquiry \(id): \(byEnquiry[id]?.count ?? 0) packages")
            }
            #expect(Set(byEnquiry.keys) == Set(sent))
        }
    }

    /// Red enquiries to the police from the SPA, one after another, remembered in order.
    final class EnquiryStream: Sendable {
        let harness: Harness
        let sent = Locked<[String]>([])
        init(_ harness: Harness) { self.harness = harness }

        func send(_ count: Int) async throws {
            for _ in 0..<count {
                let enquiry = TestHub.enquiry(rag: .red, agencies: ["police"])
                try await harness.send(enquiry.json, type: .enquiry)
                sent.withLock { $0.append(enquiry.id) }
            }
        }
    }

    /// scripts/postgres.sh on the pair check-postgres.sh brought up (MASH_PG_DIR and MASH_PG_PORT inherited).
    static func pg(_ arguments: String...) throws {
        _ = try Shell.run(Repository.path("scripts/postgres.sh"), arguments)
    }

    @Test(
        """
        kill -9 of the active coordinator, then the primary database lost: every enquiry one package, every answer \
        acked before still there, a timer due in the outage fired within 5 s of the takeover, audit verify passes
        """)
    func killAndDatabaseLoss() async throws {
        try await Harness.with(
            "failover", routing: try CoordinatorBrokerTests.ClockAndCrashTests.shortSLA(partners: "2s wall-clock")
        ) { harness in
            let url = try Harness.postgresURL(schema: "failover_kill", scratch: harness.scratch)
            harness.postgres.withLock { $0 = url }
            let store = try PostgresStore(conninfo: url)
            // The test's own reads, tried again while the database fails over (its connection is reopened).
            func read<T: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) throws -> T) async throws -> T {
                let result = Locked<T?>(nil)
                try await eventually("the store to answer", within: .seconds(20)) {
                    guard let value = try? await store.read(body) else { return false }
                    result.withLock { $0 = value }
                    return true
                }
                return result.value!
            }
            let agencies = try await harness.agencies(["police"])
            let housing = try #require(try await harness.agencies(["housing"], answering: false)["housing"])
            let packages = try await PackageWatch(harness)
            defer { packages.stop() }
            try await Self.withSlots(harness) { slots in
                let (first, _) = try await Self.active(slots)

                let stream = EnquiryStream(harness)
                func send(_ count: Int) async throws { try await stream.send(count) }
                try await send(20)
                try await harness.eventually("some answers stored") {
                    try store.read {
                        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM request WHERE status = 'answered'") ?? 0
                    } >= 5
                }
                let answeredBefore = Set(
                    try await read {
                        try String.fetchAll($0, sql: "SELECT id FROM request WHERE status = 'answered'")
                    })
                // A request no one answers, sent just before the kill: its breach (2 s on) falls due while no
                // coordinator is active (the takeover waits out the 3 s lease).
                let alertDeliveries = try await harness.admin.consume(queue: "practice-manager.alerts", prefetch: 200)
                let opener = try harness.hub.opener("practice-manager")
                let timed = TestHub.enquiry(rag: .red, agencies: ["housing"])
                try await harness.send(timed.json, type: .enquiry)
                try await harness.eventually("the request at housing") { housing.received.value.requests.count == 1 }
                let breachDue = try #require(
                    try await read {
                        try Double.fetchOne($0, sql: "SELECT due FROM request WHERE agency = 'housing'")
                    })

                // The active coordinator's host dies.
                let killed = ContinuousClock.now
                let killedAt = Date().timeIntervalSince1970
                #expect(first.stop(SIGKILL) == 128 + SIGKILL)
                let (second, tookOver) = try await Self.active(slots, excluding: first)
                #expect(killedAt < breachDue, "the breach was due before the kill")
                #expect(Date().timeIntervalSince1970 > breachDue, "the breach was not due before the takeover")
                // The timed enquiry's alerts (the stream's own may come too). Its warning may have fired before the
                // kill, and may come twice with one message id (published by the killed coordinator before it marked
                // it, then relayed again by the new one), as any receiver deduplicates it.
                var alerts: [String: Notice] = [:]
                while !alerts.values.contains(where: { $0.event == .breach }) {
                    let delivery = try await alertDeliveries.next(within: .seconds(20), "the timed enquiry's breach")
                    let opened = try opener.open(String(decoding: delivery.body, as: UTF8.self), now: Date())
                    try delivery.ack()
                    let notice = try Notice(json: opened.payload, source: "alert")
                    if notice.enquiryID == timed.id { alerts[opened.messageID] = notice }
                }
                let alerted = ContinuousClock.now
                #expect(Set(alerts.values.map(\.event)) == [.warning, .breach])
                #expect(
                    alerted - tookOver < .seconds(5), "the breach alert came \(alerted - tookOver) after the takeover")

                try await send(20)
                // The primary database's host is lost; the standby is promoted (the runbook's step).
                try Self.pg("stop", "primary")
                let lost = ContinuousClock.now
                try Self.pg("promote")
                try await send(20)
                let (third, _) = try await Self.active(slots)
                let recovered = ContinuousClock.now
                try await packages.expectOneEach(stream.sent.value, harness, store: store)
                let answeredAfter = Set(
                    try await read {
                        try String.fetchAll($0, sql: "SELECT id FROM request WHERE status = 'answered'")
                    })
                #expect(answeredBefore.isSubset(of: answeredAfter), "answers acked before the failure are gone")
                #expect(agencies["police"]!.received.value.requests.count >= stream.sent.value.count)
                let restarted = third.pid == second.pid ? "the same process" : "a restarted process"
                let deliveries = packages.deliveries.value.count
                print(
                    "failover figures: takeover \(tookOver - killed) after kill -9; breach alert \(alerted - tookOver)"
                        + " after the takeover; active again \(recovered - lost) after the primary was lost (\(restarted));"
                        + " \(deliveries) package deliveries for \(stream.sent.value.count) enquiries")

                let verify = try await harness.mashctl(["audit", "verify", "--postgres", url])
                #expect(verify.status == 0, "\(verify.output)")
            }
        }
    }

    /// Two supervised coordinators on a fresh schema of the pair, the police answering, and the packages watched.
    static func withPair(
        _ purpose: String,
        _ body: (Harness, PostgresStore, PackageWatch, [Supervisor]) async throws -> Void
    ) async throws {
        try await Harness.with(purpose) { harness in
            let url = try Harness.postgresURL(schema: "failover_" + purpose, scratch: harness.scratch)
            harness.postgres.withLock { $0 = url }
            let store = try PostgresStore(conninfo: url)
            _ = try await harness.agencies(["police"])
            let packages = try await PackageWatch(harness)
            defer { packages.stop() }
            try await Self.withSlots(harness) { slots in try await body(harness, store, packages, slots) }
        }
    }

    @Test(
        """
        SIGTERM of the active coordinator (a planned restart) hands the lease over: the standby is active well inside \
        the lease's term, and no package is lost or doubled
        """)
    func gracefulHandOver() async throws {
        try await Self.withPair("handover") { harness, store, packages, slots in
            let (first, _) = try await Self.active(slots)

            let stream = EnquiryStream(harness)
            try await stream.send(10)
            #expect(first.stop(SIGTERM) == 0, "the coordinator did not stop gracefully")
            let stopped = ContinuousClock.now
            let (_, tookOver) = try await Self.active(slots, excluding: first)
            let log = try String(contentsOfFile: first.log, encoding: .utf8)
            #expect(log.contains("the lease is handed over"), "the stopped coordinator's log does not say so")
            // Left to run out, the lease would keep the standby waiting 2.4 s to 3 s (its term, less the time
            // since the last renewal at a fifth of it), plus its start.
            #expect(tookOver - stopped < .seconds(2), "the standby took over \(tookOver - stopped) after the stop")
            print("failover figures: after SIGTERM the standby was active \(tookOver - stopped) later")
            // mashctl status names the holder and its epoch (the second holder: epoch 2).
            let status = try await harness.mashctl(["status"] + (try harness.operatorOptions()))
            let flat = status.output.replacingOccurrences(of: #"\s+"#, with: " ", options: .regularExpression)
            #expect(flat.contains("The coordinator lease is held by") && flat.contains("(epoch 2)"), "\(flat)")
            try await stream.send(10)
            try await packages.expectOneEach(stream.sent.value, harness, store: store)
        }
    }

    @Test("the active coordinator paused past its lease (SIGSTOP), then resumed: it stops, and no package is doubled")
    func pausedHolderStops() async throws {
        try await Self.withPair("paused") { harness, store, packages, slots in
            let (paused, _) = try await Self.active(slots)

            let stream = EnquiryStream(harness)
            func send(_ count: Int) async throws { try await stream.send(count) }
            try await send(10)
            #expect(kill(paused.pid, SIGSTOP) == 0)
            try await send(10)
            _ = try await Self.active(slots, excluding: paused)
            try await send(10)
            #expect(kill(paused.pid, SIGCONT) == 0)
            try await harness.eventually("the resumed coordinator stopped", within: .seconds(30)) { paused.hasExited }
            let log = try String(contentsOfFile: paused.log, encoding: .utf8)
            #expect(
                log.contains("the lease was lost") || log.contains("no longer holds the coordinator lease"),
                "the paused coordinator's log does not say it lost the lease")
            #expect(paused.exitCode != 0, "the coordinator that lost its lease exited 0")
            try await send(10)
            try await packages.expectOneEach(stream.sent.value, harness, store: store)
        }
    }
}
