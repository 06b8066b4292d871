import Foundation

/// Exchanges, queues and bindings a service needs. Declaring is idempotent: declaring what already exists with
/// the same arguments is a no-op, and a conflicting argument is a `preconditionFailed` error naming the queue.
/// A connection remembers what it declared and declares it again after every reconnect.
public struct Topology: Sendable, Equatable {
    public struct Exchange: Sendable, Equatable {
        public var name: String
        public var type: String
        public var durable: Bool
        public var arguments: [String: AMQPValue]

        public init(name: String, type: String, durable: Bool = true, arguments: [String: AMQPValue] = [:]) {
            self.name = name
            self.type = type
            self.durable = durable
            self.arguments = arguments
        }
    }

    public struct Queue: Sendable, Equatable {
        public var name: String
        public var durable: Bool
        public var arguments: [String: AMQPValue]

        public init(name: String, durable: Bool = true, arguments: [String: AMQPValue] = [:]) {
            self.name = name
            self.durable = durable
            self.arguments = arguments
        }

        /// A durable quorum queue that dead-letters, at least once, to `deadLetterExchange` with its own name as
        /// the routing key once a message has been delivered `deliveryLimit` times or is rejected.
        /// `reject-publish` overflow is what RabbitMQ requires for at-least-once dead-lettering.
        public static func quorum(_ name: String, deliveryLimit: Int, deadLetterExchange: String) -> Queue {
            Queue(
                name: name,
                arguments: [
                    "x-queue-type": "quorum",
                    "x-delivery-limit": .int(Int64(deliveryLimit)),
                    "x-dead-letter-exchange": .string(deadLetterExchange),
                    "x-dead-letter-routing-key": .string(name),
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                ])
        }

        /// The quorum queue that holds another queue's dead letters.
        public static func deadLetters(of name: String) -> Queue {
            Queue(name: name + ".dlq", arguments: ["x-queue-type": "quorum"])
        }
    }

    public struct Binding: Sendable, Equatable {
        public var exchange: String
        public var queue: String
        public var routingKey: String

        public init(exchange: String, queue: String, routingKey: String) {
            self.exchange = exchange
            self.queue = queue
            self.routingKey = routingKey
        }
    }

    public var exchanges: [Exchange]
    public var queues: [Queue]
    public var bindings: [Binding]

    public init(exchanges: [Exchange] = [], queues: [Queue] = [], bindings: [Binding] = []) {
        self.exchanges = exchanges
        self.queues = queues
        self.bindings = bindings
    }

    public static func + (lhs: Topology, rhs: Topology) -> Topology {
        Topology(
            exchanges: lhs.exchanges + rhs.exchanges, queues: lhs.queues + rhs.queues,
            bindings: lhs.bindings + rhs.bindings)
    }

    /// Reads the exchanges, queues and queue bindings of one vhost from a RabbitMQ definitions export
    /// (`deploy/rabbitmq/definitions.json`), so the services declare exactly what the broker imports.
    public init(rabbitMQDefinitions data: Data, vhost: String, source: String = "definitions") throws {
        let definitions: Definitions
        do {
            definitions = try JSONDecoder().decode(Definitions.self, from: data)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.keyNotFound(_, context),
            let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context)
        {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            throw AMQPError(
                .invalidDefinitions, "\(source): \(path.isEmpty ? "document" : path): \(context.debugDescription)")
        }
        exchanges = definitions.exchanges.filter { $0.vhost == vhost }.map {
            Exchange(name: $0.name, type: $0.type, durable: $0.durable ?? true, arguments: $0.arguments?.amqp ?? [:])
        }
        queues = definitions.queues.filter { $0.vhost == vhost }.map {
            Queue(name: $0.name, durable: $0.durable ?? true, arguments: $0.arguments?.amqp ?? [:])
        }
        bindings = definitions.bindings.filter { $0.vhost == vhost && $0.destination_type == "queue" }.map {
            Binding(exchange: $0.source, queue: $0.destination, routingKey: $0.routing_key)
        }
    }

    public init(rabbitMQDefinitionsFile path: String, vhost: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AMQPError(.invalidDefinitions, "\(path): cannot read the file")
        }
        try self.init(rabbitMQDefinitions: data, vhost: vhost, source: path)
    }
}

/// The parts of a RabbitMQ definitions export that describe topology.
private struct Definitions: Decodable {
    struct Exchange: Decodable {
        var name: String
        var vhost: String
        var type: String
        var durable: Bool?
        var arguments: Arguments?
    }
    struct Queue: Decodable {
        var name: String
        var vhost: String
        var durable: Bool?
        var arguments: Arguments?
    }
    struct Binding: Decodable {
        var source: String
        var vhost: String
        var destination: String
        var destination_type: String
        var routing_key: String
    }
    struct Arguments: Decodable {
        var amqp: [String: AMQPValue]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let raw = try container.decode([String: Scalar].self)
            amqp = raw.mapValues(\.value)
        }
    }
    /// JSON keeps booleans, integers and strings apart; queue arguments use only those.
    struct Scalar: Decodable {
        var value: AMQPValue

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let bool = try? container.decode(Bool.self) {
                value = .bool(bool)
            } else if let int = try? container.decode(Int64.self) {
                value = .int(int)
            } else {
                value = .string(try container.decode(String.self))
            }
        }
    }

    var exchanges: [Exchange] = []
    var queues: [Queue] = []
    var bindings: [Binding] = []

    enum CodingKeys: String, CodingKey { case exchanges, queues, bindings }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        exchanges = try container.decodeIfPresent([Exchange].self, forKey: .exchanges) ?? []
        queues = try container.decodeIfPresent([Queue].self, forKey: .queues) ?? []
        bindings = try container.decodeIfPresent([Binding].self, forKey: .bindings) ?? []
    }
}
