/// Publisher-confirm bookkeeping for one confirm-mode channel: which delivery tags are awaiting the broker's
/// verdict, and what that verdict was. A value type that returns what to complete, so the driver thread only
/// carries out its answers and the rules are tested without a broker.
///
/// Delivery tags on a confirm-mode channel count up from 1 with each publish. The broker answers with
/// `basic.ack` or `basic.nack`, either for one tag or, with `multiple`, for every tag up to it. For a mandatory
/// publish that no queue accepted it first sends `basic.return` (carrying the message, so it is matched here by
/// message id) and then the ack for the same tag.
struct ConfirmWindow<Payload> {
    enum Outcome: Equatable {
        case confirmed
        case returned(replyCode: Int, replyText: String)
        case nacked
    }

    struct Entry {
        var messageID: String
        var payload: Payload
    }

    let capacity: Int
    private(set) var nextTag: UInt64 = 1
    private var oldestTag: UInt64 = 1
    private var entries: [UInt64: Entry] = [:]
    private var pendingReturns: [String: (replyCode: Int, replyText: String)] = [:]

    init(capacity: Int) {
        precondition(capacity > 0, "a confirm window needs room for at least one message")
        self.capacity = capacity
    }

    var count: Int { entries.count }
    var isFull: Bool { entries.count >= capacity }
    var isEmpty: Bool { entries.isEmpty }

    /// Records a publish just written to the channel and returns the delivery tag the broker will confirm.
    @discardableResult
    mutating func sent(messageID: String, payload: Payload) -> UInt64 {
        let tag = nextTag
        entries[tag] = Entry(messageID: messageID, payload: payload)
        nextTag += 1
        return tag
    }

    mutating func returned(messageID: String, replyCode: Int, replyText: String) {
        pendingReturns[messageID] = (replyCode, replyText)
    }

    mutating func acked(tag: UInt64, multiple: Bool) -> [(Payload, Outcome)] {
        settle(tag: tag, multiple: multiple) { entry, window in
            if let r = window.pendingReturns.removeValue(forKey: entry.messageID) {
                return .returned(replyCode: r.replyCode, replyText: r.replyText)
            }
            return .confirmed
        }
    }

    mutating func nacked(tag: UInt64, multiple: Bool) -> [(Payload, Outcome)] {
        settle(tag: tag, multiple: multiple) { entry, window in
            window.pendingReturns.removeValue(forKey: entry.messageID)
            return .nacked
        }
    }

    /// Empties the window when its channel is gone, oldest first, and starts tags again at 1 for the next
    /// channel. The caller republishes these (connection recovery) or fails them (a channel error).
    mutating func takeUnconfirmed() -> [Payload] {
        let payloads = entries.keys.sorted().compactMap { entries[$0]?.payload }
        entries.removeAll()
        pendingReturns.removeAll()
        nextTag = 1
        oldestTag = 1
        return payloads
    }

    private mutating func settle(
        tag: UInt64, multiple: Bool, outcome: (Entry, inout ConfirmWindow) -> Outcome
    ) -> [(Payload, Outcome)] {
        var settled: [(Payload, Outcome)] = []
        if multiple {
            var t = oldestTag
            while t <= tag {
                if let entry = entries.removeValue(forKey: t) {
                    settled.append((entry.payload, outcome(entry, &self)))
                }
                t += 1
            }
        } else if let entry = entries.removeValue(forKey: tag) {
            settled.append((entry.payload, outcome(entry, &self)))
        }
        while oldestTag < nextTag && entries[oldestTag] == nil {
            oldestTag += 1
        }
        return settled
    }
}
