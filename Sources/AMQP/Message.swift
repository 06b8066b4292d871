/// The basic-class properties the gateway uses. Everything here travels in clear in the AMQP frame, so by
/// convention only identifiers, the message type and routing facts go in it — never personal data.
public struct MessageProperties: Sendable, Equatable {
    public var messageID: String?
    public var correlationID: String?
    public var type: String?
    public var contentType: String?
    public var replyTo: String?
    public var appID: String?
    /// Milliseconds as a decimal string, the way AMQP expresses per-message TTL.
    public var expiration: String?
    /// Seconds since the Unix epoch.
    public var timestamp: UInt64?
    /// Persistent (delivery mode 2) unless set otherwise; the gateway never publishes transient messages.
    public var persistent: Bool
    public var headers: [String: AMQPValue]

    public init(
        messageID: String? = nil, correlationID: String? = nil, type: String? = nil, contentType: String? = nil,
        replyTo: String? = nil, appID: String? = nil, expiration: String? = nil, timestamp: UInt64? = nil,
        persistent: Bool = true, headers: [String: AMQPValue] = [:]
    ) {
        self.messageID = messageID
        self.correlationID = correlationID
        self.type = type
        self.contentType = contentType
        self.replyTo = replyTo
        self.appID = appID
        self.expiration = expiration
        self.timestamp = timestamp
        self.persistent = persistent
        self.headers = headers
    }
}

/// A message to publish. `properties.messageID` is required: publish confirms and returns are matched by it,
/// and every consumer in the gateway deduplicates on it.
public struct OutboundMessage: Sendable, Equatable {
    public var body: [UInt8]
    public var properties: MessageProperties

    public init(body: [UInt8], properties: MessageProperties) {
        self.body = body
        self.properties = properties
    }
}

/// A message received from a queue. Settle it exactly once with `ack()`, `nack(requeue:)` or `reject(requeue:)`,
/// after its effect is durable; a delivery left unsettled stays unacknowledged at the broker until its channel
/// closes, then is requeued.
///
/// Settling hands the ack to the connection's thread and returns: AMQP 0-9-1 acks have no reply, so there is
/// nothing more to wait for. An ack that cannot reach the broker (the connection failed, or the consumer was
/// cancelled first) is dropped and the broker delivers the message again — which is why every consumer in the
/// gateway deduplicates by message id. Only a closed connection is an error.
public struct Delivery: Sendable {
    public var body: [UInt8]
    public var properties: MessageProperties
    public var exchange: String
    public var routingKey: String
    public var redelivered: Bool
    public var queue: String
    /// The broker's delivery tag on the channel that delivered it (meaningful only with `channelIncarnation`).
    public var deliveryTag: UInt64
    let consumerID: Int
    let channelIncarnation: Int
    let settler: AMQPConnection

    /// How many times the broker has delivered this message before, from quorum queues' `x-delivery-count`.
    public var deliveryCount: Int {
        Int(properties.headers["x-delivery-count"]?.int ?? 0)
    }

    public func ack() throws { try settler.settle(self, .ack) }
    public func nack(requeue: Bool) throws { try settler.settle(self, .nack(requeue: requeue)) }
    public func reject(requeue: Bool) throws { try settler.settle(self, .reject(requeue: requeue)) }
}

public enum Settlement: Sendable, Equatable {
    case ack
    case nack(requeue: Bool)
    case reject(requeue: Bool)
}
