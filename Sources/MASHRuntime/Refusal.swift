import MASHCore

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

extension Refusal {
    /// Reads a document, a `DocumentError` becoming `invalidDocument`.
    public static func reading<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DocumentError {
            throw Refusal(invalid: error)
        }
    }

    /// A document that breaks a rule: `invalidDocument`, naming the field but not its value (a field's
    /// problem may quote the value; a JSON fault names only a position and a member's name, so it is given).
    public init(invalid error: DocumentError) {
        self.init(
            reason: "invalidDocument",
            detail: error.field.isEmpty ? error.problem : "field '\(error.field)' is missing or invalid")
    }
}
