/// Every failure the AMQP module reports. Callers match on `code`; people read `description`, which names
/// the queue, exchange or endpoint at fault and, for broker refusals, the broker's own reply text.
public struct AMQPError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The URL could not be parsed or names an unsupported scheme or option.
        case invalidURL
        /// TCP connect failed, timed out, or the host could not be resolved.
        case connectionFailed
        /// The TLS handshake failed: wrong CA, expired certificate, host name mismatch, bad client key.
        case tlsFailed
        /// The broker refused the login (bad user or password, or no access to the vhost).
        case authenticationFailed
        /// The broker closed the connection (it was stopped, or an operator closed it).
        case connectionClosed
        /// Heartbeats from the broker stopped arriving.
        case heartbeatTimeout
        /// The broker refused an operation for lack of permission (reply 403).
        case accessRefused
        /// The queue or exchange does not exist (reply 404).
        case notFound
        /// A declaration conflicts with what exists, or an operation's precondition failed (reply 406).
        case preconditionFailed
        /// The queue is exclusive to another connection (reply 405).
        case resourceLocked
        /// Any other channel-level refusal by the broker.
        case channelClosed
        /// A mandatory publish could not be routed to any queue (basic.return).
        case unroutable
        /// The broker negatively acknowledged a publish (basic.nack): it did not take responsibility for it.
        case publishNacked
        /// The message would exceed the broker's frame or size limits, or a header value is not encodable.
        case invalidMessage
        /// The broker cancelled the consumer (its queue was deleted or it failed over).
        case consumerCancelled
        /// The connection was closed by this process.
        case closedByClient
        /// The definitions file could not be read.
        case invalidDefinitions
        /// rabbitmq-c reported a protocol or internal failure.
        case protocolError
    }

    public var code: Code
    public var message: String
    /// The AMQP reply code when the broker refused something (403, 404, 406, 320, ...).
    public var replyCode: Int?

    public init(_ code: Code, _ message: String, replyCode: Int? = nil) {
        self.code = code
        self.message = message
        self.replyCode = replyCode
    }

    public var description: String {
        if let replyCode { return "\(code.rawValue) (\(replyCode)): \(message)" }
        return "\(code.rawValue): \(message)"
    }

    /// Maps a broker channel or connection refusal to a code. Reply codes are from the AMQP 0-9-1 spec.
    static func brokerRefusal(replyCode: Int, text: String, context: String) -> AMQPError {
        let code: Code
        switch replyCode {
        case 403: code = .accessRefused
        case 404: code = .notFound
        case 405: code = .resourceLocked
        case 406: code = .preconditionFailed
        case 320: code = .connectionClosed
        default: code = .channelClosed
        }
        return AMQPError(code, "\(context): \(text)", replyCode: replyCode)
    }

    /// True when the failure is about the connection as a whole, so the client should reconnect.
    var isConnectionLevel: Bool {
        switch code {
        case .connectionFailed, .tlsFailed, .authenticationFailed, .connectionClosed, .heartbeatTimeout,
            .protocolError:
            return true
        default:
            return false
        }
    }
}
