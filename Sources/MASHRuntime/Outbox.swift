import AMQP
import Foundation
import GRDB
import MASHCore
import MASHService
import Synchronization

/// A message waiting in the outbox: committed with the state change that caused it, published after.
public struct OutboxMessage: Sendable, Equatable {
    public var seq: Int64 = 0
    public var messageID: String
    public var exchange: String
    public var routingKey: String
    public var type: String
    /// String headers only: ids, type, RAG, deadline, sender (never personal data).
    public var headers: [String: String]
    /// Already sealed to its addressee.
    public var body: [UInt8]

    public init(
        messageID: String, exchange: String, routingKey: String, type: String, headers: [String: String],
        body: [UInt8]
    ) {
        self.messageID = messageID
        self.exchange = exchange
        self.routingKey = routingKey
        self.type = type
        self.headers = headers
        self.body = body
    }
}

extension OutboxMessage {
    /// The message as it goes on the wire: persistent, `application/jose`, its type and string headers.
    public func publication(appID: String, at stamp: Date) -> Publication {
        var properties = MessageProperties(
            messageID: messageID, type: type, contentType: "application/jose", appID: appID,
            timestamp: UInt64(stamp.timeIntervalSince1970))
        for (key, value) in headers { properties.headers[key] = .string(value) }
        return Publication(
            OutboundMessage(body: body, properties: properties), exchange: exchange, routingKey: routingKey)
    }
}

/// The outbox of a service's store (table `outbox`, the same in every service): messages are inserted in the
/// transaction of the change that causes them, published after the commit by the `OutboxRelay`, and marked
/// published once the broker has confirmed them.
///
/// Marking rides on the store's next write (`settle(_:now:)`) rather than costing a commit of its own: a mark
/// lost in a crash only means the message is published again with the same id, which every receiver ignores.
public final class Outbox: Sendable {
    public let writer: any SQLStore
    private let confirmed = Mutex<[String]>([])

    public init(_ writer: any SQLStore) {
        self.writer = writer
    }

    public convenience init(_ pool: DatabasePool) { self.init(SQLiteStore(pool)) }

    /// The table, as a migration creates it.
    public static let schema = """
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            message_id TEXT NOT NULL UNIQUE,
            exchange TEXT NOT NULL,
            routing_key TEXT NOT NULL,
            type TEXT NOT NULL,
            headers TEXT NOT NULL,         -- JSON object of string headers (ids, type, RAG only)
            body BLOB NOT NULL,            -- already sealed to its addressee
            created_at REAL NOT NULL,
            published_at REAL
        );
        CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL;
        """

    public func enqueue(_ db: any SQLDatabase, _ messages: [OutboxMessage], now: Date) throws {
        for message in messages {
            try db.executeCached(
                sql: """
                    INSERT INTO outbox (message_id, exchange, routing_key, type, headers, body, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    message.messageID, message.exchange, message.routingKey, message.type,
                    String(decoding: DocumentWriter.encode(message.headers), as: UTF8.self), Data(message.body),
                    now.timeIntervalSince1970,
                ])
        }
    }

    /// Unpublished messages in commit order; with `createdBefore`, only those committed before it.
    public func pending(limit: Int = 200, createdBefore cutoff: Date?) async throws -> [OutboxMessage] {
        try await writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, message_id, exchange, routing_key, type, headers, body FROM outbox
                    WHERE published_at IS NULL AND created_at < ? ORDER BY seq LIMIT ?
                    """, arguments: [(cutoff ?? .distantFuture).timeIntervalSince1970, limit]
            ).map { row in
                let headersJSON: String = row["headers"]
                let headers =
                    (try? JSONSerialization.jsonObject(with: Data(headersJSON.utf8))) as? [String: String] ?? [:]
                let body: Data = row["body"]
                var message = OutboxMessage(
                    messageID: row["message_id"], exchange: row["exchange"], routingKey: row["routing_key"],
                    type: row["type"], headers: headers, body: Array(body))
                message.seq = row["seq"]
                return message
            }
        }
    }

    /// The broker confirmed these: they are marked published by the next write.
    public func confirm(_ messageIDs: [String]) {
        confirmed.withLock { $0 += messageIDs }
    }

    public var hasUnsettledConfirms: Bool { confirmed.withLock { !$0.isEmpty } }

    /// Takes the confirmed message ids not yet marked; give them back with `unsettle` if the write fails.
    private func takeConfirmed() -> [String] {
        confirmed.withLock { marks in
            defer { marks = [] }
            return marks
        }
    }

    private func unsettle(_ marks: [String]) {
        guard !marks.isEmpty else { return }
        confirmed.withLock { $0 += marks }
    }

    private static func markPublished(_ db: any SQLDatabase, _ marks: [String], now: Date) throws {
        for chunk in stride(from: 0, to: marks.count, by: 500).map({ marks[$0..<min($0 + 500, marks.count)] }) {
            let placeholders = chunk.map { _ in "?" }.joined(separator: ",")
            try db.execute(
                sql: "UPDATE outbox SET published_at = ? WHERE message_id IN (\(placeholders))",
                arguments: StatementArguments(
                    [now.timeIntervalSince1970 as any DatabaseValueConvertible]
                        + chunk.map { $0 as any DatabaseValueConvertible }))
        }
    }

    /// A write transaction that also marks the confirmed messages published.
    public func write<T: Sendable>(
        now: @escaping @Sendable () -> Date, _ body: @escaping @Sendable (any SQLDatabase) throws -> T
    )
        async throws -> T
    {
        let marks = takeConfirmed()
        do {
            return try await writer.write { db in
                try Self.markPublished(db, marks, now: now())
                return try body(db)
            }
        } catch {
            unsettle(marks)
            throw error
        }
    }

    public func backlog() throws -> Int {
        try writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") ?? 0 }
    }
}

/// The ids of messages a service has handled (table `inbox`), so a redelivery has no second effect.
public enum Inbox {
    public static let schema = """
        CREATE TABLE inbox (
            message_id TEXT PRIMARY KEY,
            queue TEXT NOT NULL,
            received_at REAL NOT NULL,
            outcome TEXT NOT NULL          -- the document type handled
        );
        """

    /// What the inbox records of a document type: its name without the `mash.` prefix and version
    /// (`mash.enquiry/1` → `enquiry`).
    public static func outcome(of type: String) -> String {
        var name = Substring(type)
        if name.hasPrefix("mash.") { name = name.dropFirst(5) }
        if let slash = name.lastIndex(of: "/") { name = name[..<slash] }
        return String(name)
    }

    /// Records `messageID` as handled; false if it already was.
    public static func remember(_ db: any SQLDatabase, messageID: String, queue: String, outcome: String, now: Date)
        throws
        -> Bool
    {
        try db.executeCached(
            sql: """
                INSERT INTO inbox (message_id, queue, received_at, outcome) VALUES (?, ?, ?, ?)
                ON CONFLICT (message_id) DO NOTHING
                """,
            arguments: [messageID, queue, now.timeIntervalSince1970, outcome])
        return db.changesCount == 1
    }
}
