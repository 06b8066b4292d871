import AMQP
import ArgumentParser
import Foundation
import MASHCore
import MASHProtocol
import MASHReadModel
import Synchronization

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show and replay dead-lettered messages.",
        discussion: """
            Every input queue has a dead-letter queue (<queue>.dlq) holding what its consumer refused, with the \
            reason: x-mash-reason and x-mash-detail from the coordinator, x-death from RabbitMQ (an adapter's \
            refusal, or a message redelivered past the delivery limit). Listing leaves the messages where they \
            are. Replay re-sends them unchanged to the queue they died in, after the cause is fixed (a key \
            added, a configuration corrected); the consumers' inboxes make a second delivery harmless.

            Commands act as the operator broker user (--broker or $MASH_OPERATOR_URL), which may read DLQs and \
            publish to queues, and nothing else.
            """,
        subcommands: [List.self, Show.self, Replay.self])

    struct Selection: ParsableArguments {
        @Option(help: "The dead-letter queue, or the queue whose DLQ it is (agency.police.enquiries[.dlq]).")
        var queue: String

        @Option(help: "At most this many messages, oldest first.")
        var limit: Int = 20

        var deadLetterQueue: String { queue.hasSuffix(".dlq") ? queue : queue + ".dlq" }
        var originalQueue: String { String(deadLetterQueue.dropLast(".dlq".count)) }

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the oldest dead-lettered messages of a queue with their reasons.",
            discussion: "Example:\n  mashctl dlq list --queue coordinator.intake --limit 10")

        @OptionGroup var selection: Selection
        @OptionGroup var hub: HubOptions

        @Flag(help: "Print JSON.")
        var json = false

        func run() async throws {
            let held = try await DeadLetterQueue.take(selection, broker: try hub.brokerURL())
            try await held.releasing { try list(held) }
        }

        private func list(_ held: DeadLetterQueue) throws {
            let letters = DeadLetter.explained(held.deliveries, queue: selection.originalQueue, hub: hub)
            if json {
                return try JSONOutput.write(DeadLetterList(queue: held.queue, depth: held.depth, messages: letters))
            }
            var lines = [
                "\(held.queue): \(held.depth) message\(held.depth == 1 ? "" : "s")"
                    + (held.depth > letters.count ? ", the oldest \(letters.count) shown" : ""),
                Format.row([("#", 3), ("MESSAGE ID", -36), ("TYPE", -14), ("AGE", 6), ("REASON", -16)]),
            ]
            for letter in letters {
                lines.append(
                    Format.row([
                        (String(letter.position), 3), (letter.messageID ?? "-", -36),
                        (letter.type.map { $0.replacingOccurrences(of: "mash.", with: "") } ?? "-", -14),
                        (letter.deadLetteredAt.map { Format.age(Date().timeIntervalSince($0)) } ?? "?", 6),
                        (letter.reason, -16),
                    ]))
            }
            let repeated = Dictionary(grouping: letters.compactMap(\.messageID), by: { $0 }).filter { $1.count > 1 }
            if !repeated.isEmpty {
                lines.append(
                    "Some message ids appear more than once: select those with --position # (dlq show, dlq replay).")
            }
            if letters.contains(where: { $0.reason == "rejected" }) {
                lines.append(
                    "rejected: the consumer gave no reason (no refusal report reached the hub); see that party's log.")
            }
            StandardStreams.write(Array((lines.joined(separator: "\n") + "\n").utf8))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one dead-lettered message's properties, headers and reason (never its sealed body).",
            discussion: """
                The view is recorded by the coordinator first (who, when, which message, --reason); if it cannot \
                be recorded, nothing is shown. `mashctl audit views` lists such views.

                Select the message by its id or, when several dead letters share an id, by its position (the # \
                of `dlq list`, oldest first).

                Examples:
                  mashctl dlq show --queue coordinator.intake --message 3f2a… --reason INC-1234 --staff j.smith
                  mashctl dlq show --queue agency.police.enquiries --position 2 --reason INC-1234 --staff j.smith
                """)

        @OptionGroup var selection: Selection
        @OptionGroup var hub: HubOptions

        @Option(help: "The message id (from `dlq list`).")
        var message: String?

        @Option(help: "The position in `dlq list` (1 is the oldest), for ids that repeat.")
        var position: Int?

        @Option(help: "Why you look at it (an incident or ticket reference); recorded with who and when. Required.")
        var reason: String

        @OptionGroup var staff: StaffOptions

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--reason must say why you look at the dead letter")
            }
            _ = try staff.id()
            try DeadLetters.validate(message: message, position: position, limit: selection.limit)
        }

        func run() async throws {
            let which = position.map { "#\($0)" } ?? message ?? ""
            try await staff.recordView(
                of: .deadLetter, "\(selection.deadLetterQueue) \(which)", reason: reason, hub: hub)
            let held = try await DeadLetterQueue.take(selection, broker: try hub.brokerURL())
            try await held.releasing {
                let index = try held.select(message: message, position: position)
                try JSONOutput.write(
                    DeadLetter.explained(held.deliveries, queue: selection.originalQueue, hub: hub)[index])
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-send dead-lettered messages, unchanged, to the queue they died in; audited.",
            discussion: """
                The selection (the oldest --limit messages) is counted and frozen first: only those message ids \
                are replayed, whatever arrives meanwhile. More than --confirm-over messages need --yes. Each \
                replayed message gets an entry in the record of sharing (who, which queue, the reason, the \
                message id) before anything is sent; `mashctl audit verify` checks it with the rest.

                With --position, only the message at that place in `dlq list` is replayed (for one message, or ids \
                that repeat).

                Examples:
                  mashctl dlq replay --queue coordinator.intake --reason "SPA key added (INC-1234)" --staff j.smith
                  mashctl dlq replay --queue agency.police.enquiries --position 3 --reason INC-1240 --staff j.smith
                """)

        @OptionGroup var selection: Selection
        @OptionGroup var hub: HubOptions

        @Option(help: "Why the messages can now be processed; recorded in the record of sharing. Required.")
        var reason: String

        @OptionGroup var staff: StaffOptions

        @Option(help: "Ask for --yes when more than this many messages are selected.")
        var confirmOver: Int = 10

        @Flag(help: "Replay even when more than --confirm-over messages are selected.")
        var yes = false

        @Option(help: "Replay only the message at this position in `dlq list` (1 is the oldest).")
        var position: Int?

        func validate() throws {
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--reason must say why the messages can now be processed")
            }
            _ = try staff.id()
            if let position { try DeadLetters.validate(message: nil, position: position, limit: selection.limit) }
        }

        func run() async throws {
            var held = try await DeadLetterQueue.take(selection, broker: try hub.brokerURL())
            if position != nil {
                do {
                    let index = try held.select(message: nil, position: position)
                    held.deliveries = [held.deliveries[index]]
                } catch {
                    await held.release()
                    throw error
                }
            }
            let count = held.deliveries.count
            StandardStreams.note(
                "\(count) of \(held.depth) message\(held.depth == 1 ? "" : "s") in \(held.queue) selected for replay "
                    + "to \(selection.originalQueue)")
            guard count > 0 else { return await held.release() }
            guard count <= confirmOver || yes else {
                await held.release()
                throw CommandFailure(
                    "\(count) messages selected, more than \(confirmOver): nothing replayed. Pass --yes to replay them, "
                        + "or a smaller --limit")
            }
            let ids = held.deliveries.map { $0.properties.messageID ?? "" }
            do {
                try await record(held, at: Date())
            } catch {
                await held.release()
                throw CommandFailure("nothing replayed: \(error)")
            }
            var replayed = 0
            for delivery in held.deliveries {
                var properties = delivery.properties
                for key in ["x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason"] {
                    properties.headers[key] = nil
                }
                properties.headers["x-mash-replayed-by"] = .string(try staff.id())
                do {
                    try await held.connection.publish(
                        OutboundMessage(body: delivery.body, properties: properties), exchange: "",
                        routingKey: selection.originalQueue)
                    try delivery.ack()
                    replayed += 1
                } catch {
                    await held.release(acked: replayed)
                    throw CommandFailure(
                        "replayed \(replayed) of \(count); stopped at \(delivery.properties.messageID ?? "?"): \(error)"
                    )
                }
            }
            StandardStreams.note(
                "replayed \(replayed) message\(replayed == 1 ? "" : "s") to \(selection.originalQueue): "
                    + ids.joined(separator: ", "))
            await held.release(acked: replayed)
        }

        /// Asks the coordinator to record the replay in the record of sharing and waits until it has: nothing is
        /// sent before the entries are committed.
        private func record(_ held: DeadLetterQueue, at now: Date) async throws {
            let replay = DeadLetterReplay(
                replayedBy: try staff.id(), queue: selection.originalQueue, reason: reason, at: now,
                expiresAt: now.addingTimeInterval(StaffOptions.recordWindow),
                messages: held.deliveries.map {
                    DeadLetterReplay.Message(
                        messageID: $0.properties.messageID ?? "",
                        enquiryID: $0.properties.headers["x-mash-enquiry"]?.string)
                })
            _ = try await staff.request(
                replay.json, type: .deadLetterReplay, what: "replay", on: held.connection, broker: try hub.brokerURL(),
                store: try hub.storeOption.open())
        }
    }
}

extension DeadLetters {
    /// Exactly one of --message and --position, the position within the --limit read.
    static func validate(message: String?, position: Int?, limit: Int) throws {
        guard (message == nil) != (position == nil) else {
            throw ValidationError("give --message ID or --position N (the # of `dlq list`), not both or neither")
        }
        if let position, !(1...limit).contains(position) {
            throw ValidationError("--position must be from 1 to --limit (\(limit)); raise --limit for later ones")
        }
    }
}

/// The oldest messages of a queue, held unacknowledged: acked once replayed, otherwise returned to the queue
/// when the connection closes. DLQs and `audit.checkpoints` have no delivery limit, so holding and returning
/// them is harmless.
struct DeadLetterQueue {
    var queue: String
    var depth: Int
    var deliveries: [Delivery]
    var connection: AMQPConnection
    var collector: Task<Void, Never>
    var broker: AMQPURL

    static func take(_ selection: DeadLetters.Selection, broker: AMQPURL) async throws -> DeadLetterQueue {
        try await take(queue: selection.deadLetterQueue, limit: selection.limit, broker: broker)
    }

    static func take(queue: String, limit: Int, broker: AMQPURL) async throws -> DeadLetterQueue {
        let connection = try await AMQPConnection.connect(
            AMQPConfiguration(url: broker, connectionName: "mashctl \(queue)"))
        do {
            let depth = try await connection.inspect(queue: queue).messageCount
            let wanted = min(depth, limit)
            let taken = Mutex<[Delivery]>([])
            let deliveries = try await connection.consume(queue: queue, prefetch: UInt16(clamping: max(wanted, 1)))
            // Iterates until the connection closes: stopping earlier would cancel the consumer while its
            // deliveries are still to be acked.
            let collector = Task {
                do {
                    for try await delivery in deliveries { taken.withLock { $0.append(delivery) } }
                } catch {}
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while taken.withLock({ $0.count }) < wanted, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let selected = Array(taken.withLock { $0 }.prefix(wanted))
            return DeadLetterQueue(
                queue: queue, depth: depth, deliveries: selected, connection: connection, collector: collector,
                broker: broker)
        } catch let error as AMQPError where error.code == .notFound {
            await connection.close()
            throw CommandFailure("no queue \(queue) on the broker")
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Runs `body` with the messages held, then releases them (however `body` ends).
    func releasing<T>(_ body: () throws -> T) async throws -> T {
        let result = Result(catching: body)
        await release()
        return try result.get()
    }

    /// Closes the connection, so the broker returns the messages held and not acked (`acked` of them were), and
    /// waits (at most 5 s) until the queue shows them again: the broker returns them after the close, and a
    /// command run straight after (`dlq replay` after `dlq show`) would otherwise find fewer.
    func release(acked: Int = 0) async {
        await connection.close()
        collector.cancel()
        let returned = depth - acked
        guard returned > 0,
            let looker = try? await AMQPConnection.connect(
                AMQPConfiguration(url: broker, connectionName: "mashctl \(queue) returned"))
        else { return }
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline,
            let now = try? await looker.inspect(queue: queue).messageCount, now < returned
        {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await looker.close()
    }

    /// The index of the dead letter at `position` (1-based, oldest first) or with id `message`, which must be
    /// the only one with that id.
    func select(message: String?, position: Int?) throws -> Int {
        if let position {
            guard position <= deliveries.count else {
                throw CommandFailure(
                    "\(queue) holds \(deliveries.count) message\(deliveries.count == 1 ? "" : "s"); no #\(position)")
            }
            return position - 1
        }
        let matches = deliveries.indices.filter { deliveries[$0].properties.messageID == message }
        guard let first = matches.first else {
            throw CommandFailure(
                "no message \(message ?? "") among the oldest \(deliveries.count) of \(queue) (raise --limit)")
        }
        guard matches.count == 1 else {
            throw CommandFailure(
                "\(matches.count) dead letters in \(queue) have id \(message ?? ""), at positions "
                    + matches.map { String($0 + 1) }.joined(separator: ", ") + ": select one with --position")
        }
        return first
    }
}

/// What an operator may see of a dead-lettered message: ids, type, sender, times and reasons. The body is
/// sealed and never shown.
struct DeadLetter: Encodable {
    /// Its place in the queue as read, 1 being the oldest (`--position`).
    var position: Int
    var messageID: String?
    var type: String?
    var sender: String?
    var enquiryID: String?
    var publishedAt: Date?
    var deadLetteredAt: Date?
    /// The coordinator's reason code, the refusing party's (from its refusal report), or RabbitMQ's
    /// (`rejected` with no report, `delivery_limit`, `expired`).
    var reason: String
    /// Where the reason comes from: `coordinator` (its x-mash-reason header), `refusal report` (an adapter's or
    /// desk's `mash.refusal-report/1`), or `broker` (x-death).
    var reasonFrom: String
    var detail: String?
    var rejectedBy: String?
    var deadLetterCount: Int?
    var bodyBytes: Int

    init(_ delivery: Delivery, position: Int) {
        self.position = position
        let headers = delivery.properties.headers
        let death = headers["x-death"]?.array?.first?.table
        messageID = delivery.properties.messageID
        type = delivery.properties.type
        sender = headers["x-mash-sender"]?.string
        enquiryID = headers["x-mash-enquiry"]?.string
        publishedAt = delivery.properties.timestamp.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        deadLetteredAt = death?["time"]?.int.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? publishedAt
        reason = headers["x-mash-reason"]?.string ?? death?["reason"]?.string ?? "unknown"
        reasonFrom = headers["x-mash-reason"] != nil ? "coordinator" : "broker"
        detail = headers["x-mash-detail"]?.string
        rejectedBy = headers["x-mash-rejected-by"]?.string ?? death?["queue"]?.string.map { "consumer of \($0)" }
        deadLetterCount = death?["count"]?.int.map(Int.init)
        bodyBytes = delivery.body.count
    }

    /// The deliveries as dead letters, a rejection explained by the refusing party's report when the
    /// coordinator's store (read-only) has one for that queue and message.
    static func explained(_ deliveries: [Delivery], queue: String, hub: HubOptions) -> [DeadLetter] {
        var letters = deliveries.enumerated().map { DeadLetter($1, position: $0 + 1) }
        let rejected = letters.filter { $0.reason == "rejected" }.compactMap(\.messageID)
        guard !rejected.isEmpty, let store = try? hub.storeOption.open(),
            let reports = try? store.refusals(queue: queue, messageIDs: rejected)
        else { return letters }
        for index in letters.indices where letters[index].reason == "rejected" {
            guard let id = letters[index].messageID, let report = reports[id] else { continue }
            letters[index].reason = report.reason
            letters[index].detail = report.detail
            letters[index].rejectedBy = report.party
            letters[index].reasonFrom = "refusal report"
        }
        return letters
    }
}

struct DeadLetterList: Encodable {
    var queue: String
    var depth: Int
    var messages: [DeadLetter]
}
