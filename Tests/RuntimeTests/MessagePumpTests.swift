import AMQP
import Foundation
import GRDB
import Logging
import MASHCore
import MASHRuntime
import MASHService
import MASHTesting
import Sealing
import Testing

/// The pump on the real broker and a real SQLite file, with a handler of its own: each message inserts a row
/// (its effect) and causes one outbound message; the message whose note says "poison" inserts its row and
/// then refuses, so only a savepoint of its own can take that row back.
@Suite("The message pump: one batch, one commit, one effect per message")
struct MessagePumpTests {
    struct Fixture {
        let broker: TestBroker
        let hub: TestHub
        let scratch: ScratchDirectory
        let connection: AMQPConnection
        let input: ScratchQueue
        let output: ScratchQueue
        let pool: DatabasePool
        let relay: OutboxRelay
        let pump: MessagePump
        let context: MessagePump.Context

        init(_ purpose: String) async throws {
            broker = try TestBroker.fromEnvironment()
            hub = try TestHub(purpose)
            scratch = try ScratchDirectory(purpose)
            connection = try await broker.connect(purpose)
            input = try await ScratchQueue.declare(on: connection, purpose)
            output = try await ScratchQueue.declare(on: connection, purpose + "-out")
            pool = try DurableStore.open(at: scratch.file("store.sqlite"))
            try await pool.write { db in
                try db.execute(sql: Outbox.schema)
                try db.execute(sql: Inbox.schema)
                try db.execute(sql: "CREATE TABLE effect (message_id TEXT PRIMARY KEY, note TEXT NOT NULL)")
            }
            var logger = Logger(label: "test.pump")
            logger.logLevel = .critical
            let metrics = ServiceMetrics()
            relay = OutboxRelay(
                outbox: Outbox(pool), connection: connection, appID: "test", logger: logger, metrics: metrics,
                now: { Date() })
            let outputQueue = output.name
            pump = MessagePump(queue: input.name, identity: "coordinator", deadLetters: .publish(exchange: "mash.dlx"))
            {
                message, db in
                let note = String(decoding: message.payload, as: UTF8.self)
                try db.execute(
                    sql: "INSERT INTO effect (message_id, note) VALUES (?, ?)", arguments: [message.messageID, note])
                if note.contains("poison") { throw Refusal(reason: "poisoned", detail: "the test's poison") }
                return [
                    OutboxMessage(
                        messageID: "out-" + message.messageID, exchange: "", routingKey: outputQueue, type: "test",
                        headers: ["x-mash-cause": message.messageID], body: Array(note.utf8))
                ]
            }
            let opener = try hub.opener("coordinator")
            context = MessagePump.Context(
                connection: connection, opener: { opener }, relay: relay, logger: logger, metrics: metrics,
                now: { Date() })
        }

        func sealed(_ note: String) throws -> OutboundMessage {
            try hub.sealed(Array(note.utf8), type: .enquiry, from: "spa", to: "coordinator")
        }

        /// Exactly `count` deliveries from the input queue, however many reads of the socket they took.
        func batch(of count: Int, from batches: DeliveryBatches) async throws -> [Delivery] {
            try await within(.seconds(20), "\(count) deliveries") {
                var batch: [Delivery] = []
                while batch.count < count, let more = try await batches.next() { batch += more }
                return batch
            }
        }

        func count(_ sql: String) throws -> Int {
            try pool.unsafeReentrantRead { try Int.fetchOne($0, sql: sql) ?? -1 }
        }

        func remove() async {
            await input.remove(from: connection)
            await output.remove(from: connection)
            await connection.close()
            scratch.remove()
            hub.keys.remove()
        }
    }

    @Test(
        "a batch with refused, unopenable and mistyped messages among good ones: the good committed once, the rest dead-lettered with their reasons, all acked; delivered again, no second effect"
    )
    func poisonAmongGood() async throws {
        let fixture = try await Fixture("pump-poison")
        let relaying = Task { try await fixture.relay.run() }
        defer { relaying.cancel() }

        let good = try (0..<5).map { try fixture.sealed("good \($0)") }
        let poison = try fixture.sealed("poison")
        var forged = try fixture.sealed("forged")
        forged.body = Array("eyJhbGciOiJub25lIn0.not.a.sealed.message".utf8)
        var mistyped = try fixture.sealed("mistyped")
        mistyped.properties.type = "mash.research-response/1"
        var untyped = try fixture.sealed("untyped")
        untyped.properties.type = nil
        let order = [good[0], good[1], poison, good[2], forged, mistyped, good[3], untyped, good[4]]
        for message in order {
            try await fixture.connection.publish(message, exchange: "", routingKey: fixture.input.name)
        }

        let batches = try await fixture.connection.consumeBatches(queue: fixture.input.name, prefetch: 64)
        let batch = try await fixture.batch(of: order.count, from: batches)
        #expect(batch.map(\.properties.messageID) == order.map(\.properties.messageID))
        try await fixture.pump.process(batch, fixture.context)

        // The good: one effect each, in the inbox; the refused message's own insert rolled back with it.
        let effects = try await fixture.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT message_id, note FROM effect ORDER BY note")
                .map { "\($0["note"] as String) \($0["message_id"] as String)" }
        }
        #expect(effects == good.enumerated().map { "good \($0.offset) \($0.element.properties.messageID!)" })
        #expect(try fixture.count("SELECT COUNT(*) FROM inbox") == 5)
        #expect(try fixture.count("SELECT COUNT(*) FROM inbox WHERE outcome = 'enquiry'") == 5)

        // The two refused, in the DLQ with the reason, the detail and who refused.
        let dead = try await fixture.connection.consume(queue: fixture.input.deadLetters, prefetch: 10)
        var reasons: [String: String] = [:]
        for _ in 0..<4 {
            let letter = try await dead.next(within: .seconds(10), "a dead letter")
            #expect(letter.properties.headers["x-mash-rejected-by"]?.string == "coordinator")
            #expect(letter.properties.headers["x-mash-detail"]?.string?.isEmpty == false)
            reasons[letter.properties.messageID ?? ""] = letter.properties.headers["x-mash-reason"]?.string
            try letter.ack()
        }
        #expect(reasons[poison.properties.messageID!] == "poisoned")
        #expect(reasons[forged.properties.messageID!] == "algorithmNotAllowed")
        #expect(reasons[mistyped.properties.messageID!] == "unexpectedType")
        #expect(reasons[untyped.properties.messageID!] == "unexpectedType")

        // What the good caused went out through the outbox, each once, and is marked published.
        let out = try await fixture.connection.consume(queue: fixture.output.name, prefetch: 10)
        var caused: Set<String> = []
        for _ in 0..<5 {
            let message = try await out.next(within: .seconds(10), "an outbox message")
            caused.insert(message.properties.headers["x-mash-cause"]?.string ?? "")
            try message.ack()
        }
        #expect(caused == Set(good.map { $0.properties.messageID! }))
        try await eventually("the outbox marked published", within: .seconds(10)) {
            try fixture.count("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") == 0
        }

        // Everything was settled: with the consumer gone, nothing returns to the queue.
        batches.cancel()
        try await eventually("the input queue empty", within: .seconds(10)) {
            try await fixture.connection.inspect(queue: fixture.input.name).messageCount == 0
        }

        // The same five good messages again (a redelivery after a lost ack): acked, no second effect.
        for message in good {
            try await fixture.connection.publish(message, exchange: "", routingKey: fixture.input.name)
        }
        let again = try await fixture.connection.consumeBatches(queue: fixture.input.name, prefetch: 64)
        try await fixture.pump.process(try await fixture.batch(of: 5, from: again), fixture.context)
        #expect(try fixture.count("SELECT COUNT(*) FROM effect") == 5)
        #expect(try fixture.count("SELECT COUNT(*) FROM outbox") == 5)
        again.cancel()
        try await eventually("the redeliveries acked", within: .seconds(10)) {
            try await fixture.connection.inspect(queue: fixture.input.name).messageCount == 0
        }
        #expect(try await fixture.connection.inspect(queue: fixture.output.name).messageCount == 0)
        await fixture.remove()
    }

    @Test("a store failure fails the whole batch unacked: nothing is committed, and the broker delivers it again")
    func storeFailureLeavesBatchUnacked() async throws {
        let fixture = try await Fixture("pump-store-failure")
        let messages = try (0..<3).map { try fixture.sealed("good \($0)") }
        for message in messages {
            try await fixture.connection.publish(message, exchange: "", routingKey: fixture.input.name)
        }
        try await fixture.pool.write { try $0.execute(sql: "DROP TABLE effect") }
        let batches = try await fixture.connection.consumeBatches(queue: fixture.input.name, prefetch: 64)
        let batch = try await fixture.batch(of: 3, from: batches)
        await #expect(throws: DatabaseError.self) { try await fixture.pump.process(batch, fixture.context) }
        #expect(try fixture.count("SELECT COUNT(*) FROM inbox") == 0)
        #expect(try fixture.count("SELECT COUNT(*) FROM outbox") == 0)
        batches.cancel()
        try await eventually("the batch back in the queue", within: .seconds(10)) {
            try await fixture.connection.inspect(queue: fixture.input.name).messageCount == 3
        }
        #expect(try await fixture.connection.inspect(queue: fixture.input.deadLetters).messageCount == 0)
        await fixture.remove()
    }

    @Test(
        "a message signed with a key added after the keys were read is opened after one look at the key folder, in the same batch; a key still unknown is refused as unknownKey, and a batch with only known keys never looks"
    )
    func keyAddedSinceStart() async throws {
        let fixture = try await Fixture("pump-new-key")
        let relaying = Task { try await fixture.relay.run() }
        defer { relaying.cancel() }
        var logger = Logger(label: "test.keys")
        logger.logLevel = .critical
        let keyring = try PublicKeyring(directory: fixture.hub.keys.path, logger: logger)
        let coordinator = try KeyDirectory.keyPairs(agency: "coordinator", in: fixture.hub.keys.path)
        let looks = Locked(0)
        var context = fixture.context
        context.opener = { Opener(recipient: "coordinator", keyPairs: coordinator, trusted: keyring.trusted) }
        context.refreshKeys = {
            looks.withLock { $0 += 1 }
            return keyring.reload()
        }

        // Known keys only: no look at the folder.
        let known = try fixture.sealed("known")
        try await fixture.connection.publish(known, exchange: "", routingKey: fixture.input.name)
        let batches = try await fixture.connection.consumeBatches(queue: fixture.input.name, prefetch: 64)
        try await fixture.pump.process(try await fixture.batch(of: 1, from: batches), context)
        #expect(looks.value == 0)

        // A partner onboarded since: its key is in the folder, not yet in the keyring.
        try KeyDirectory.generate(agency: "early-help", in: fixture.hub.keys.path)
        let newcomer = try fixture.hub.sealed(
            Array("newcomer".utf8), type: .enquiry, from: "early-help", to: "coordinator")
        // A stranger: signed with a key that is in no folder the hub reads.
        let elsewhere = try TestHub("pump-stranger")
        defer { elsewhere.keys.remove() }
        var stranger = try elsewhere.sealed(Array("stranger".utf8), type: .enquiry, from: "police", to: "coordinator")
        stranger.body = Array(
            try Sealer(sender: try elsewhere.keyPair("police")).seal(
                Array("stranger".utf8), type: DocumentType.enquiry.rawValue,
                messageID: stranger.properties.messageID!, to: try fixture.hub.publicKey("coordinator"),
                issuedAt: Date()
            ).utf8)
        for message in [newcomer, stranger] {
            try await fixture.connection.publish(message, exchange: "", routingKey: fixture.input.name)
        }
        try await fixture.pump.process(try await fixture.batch(of: 2, from: batches), context)
        #expect(looks.value == 1)
        #expect(try fixture.count("SELECT COUNT(*) FROM effect WHERE note = 'newcomer'") == 1)
        #expect(try fixture.count("SELECT COUNT(*) FROM effect WHERE note = 'stranger'") == 0)
        let dead = try await fixture.connection.consume(queue: fixture.input.deadLetters, prefetch: 10)
        let letter = try await dead.next(within: .seconds(10), "the stranger's dead letter")
        #expect(letter.properties.messageID == stranger.properties.messageID)
        #expect(letter.properties.headers["x-mash-reason"]?.string == "unknownKey")
        try letter.ack()
        batches.cancel()
        await fixture.remove()
    }
}
