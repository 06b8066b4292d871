/// Why a service will not process a message: it goes to its queue's dead-letter queue with `reason` (a code
/// from `docs/protocol.md`) and `detail`. The detail names fields and ids, never a value that may be personal
/// data, since it goes into AMQP headers and logs.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var detail: String

    public init(reason: String, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}
