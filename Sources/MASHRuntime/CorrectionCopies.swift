import Foundation
import MASHCore

/// What every recipient of a `mash.correction/1` (an adapter, a desk) does the same way: read it from the
/// message, and confirm it.
extension Correction {
    /// The correction a message from the hub carries; a malformed one is refused (`invalidDocument`).
    public init(_ message: InboundMessage) throws {
        do {
            try self.init(json: message.payload, source: "message \(message.messageID)")
        } catch let error as DocumentError {
            throw Refusal(invalid: error)
        }
    }

    /// The receipt for this copy: applied to `copies` copies, or none held.
    public func receipt(copies: Int, at now: Date) -> CorrectionReceipt {
        CorrectionReceipt(
            correctionID: correctionID, copyID: copyID, result: copies > 0 ? .applied : .notHeld, copies: copies,
            at: Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
    }

    /// What a copy's `restricted_by` becomes: this correction for a restriction, nothing for its lifting.
    public var restrictedBy: String? { action == .restrict ? correctionID : nil }

    /// The headers of the receipt's message.
    public var receiptHeaders: [String: String] { ["x-mash-correction": correctionID, "x-mash-copy": copyID] }
}
