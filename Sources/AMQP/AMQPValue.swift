/// A value in an AMQP field table (message headers, queue arguments). Covers what RabbitMQ sends, including
/// the nested arrays of tables in `x-death`.
public enum AMQPValue: Sendable, Equatable, Hashable {
    case string(String)
    case bytes([UInt8])
    case int(Int64)
    case bool(Bool)
    case double(Double)
    /// Seconds since the Unix epoch, as AMQP timestamps are.
    case timestamp(UInt64)
    case table([String: AMQPValue])
    case array([AMQPValue])
    case void

    public var string: String? {
        switch self {
        case .string(let s): return s
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }

    public var int: Int64? {
        switch self {
        case .int(let i): return i
        case .timestamp(let t): return Int64(t)
        default: return nil
        }
    }

    public var table: [String: AMQPValue]? {
        if case .table(let t) = self { return t }
        return nil
    }

    public var array: [AMQPValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
}

extension AMQPValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
