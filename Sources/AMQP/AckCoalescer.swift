/// Acknowledgements for one consumer channel, coalesced: acks the application makes in a burst go to the
/// broker as one `basic.ack` with `multiple` for the contiguous run from the oldest unsettled delivery, plus
/// single acks for any that are not contiguous. Fewer frames for the broker to process, no added latency (the
/// connection thread flushes at the end of every batch of commands). Nacks and rejects are never coalesced.
struct AckCoalescer {
    enum Frame: Equatable {
        case ack(tag: UInt64, multiple: Bool)
    }

    /// Delivery tags handed to the application and not yet acknowledged to the broker, oldest first.
    private var outstanding: [UInt64] = []
    private var head = 0
    /// Tags the application has acked since the last flush.
    private var acked: Set<UInt64> = []
    /// Tags settled some other way (nack, reject) that the oldest-first walk must step over.
    private var settledElsewhere: Set<UInt64> = []

    /// Deliveries still tracked (handed out and not yet acknowledged to the broker).
    var outstandingCount: Int { outstanding.count - head }

    mutating func delivered(_ tag: UInt64) {
        outstanding.append(tag)
    }

    mutating func ack(_ tag: UInt64) {
        acked.insert(tag)
    }

    /// A nack or reject sent directly: it leaves the run of outstanding deliveries.
    mutating func settledDirectly(_ tag: UInt64) {
        settledElsewhere.insert(tag)
    }

    /// The frames to send for the acks recorded since the last flush.
    mutating func flush() -> [Frame] {
        guard !acked.isEmpty else {
            skipSettled()
            return []
        }
        var frames: [Frame] = []
        var highest: UInt64?
        var coalesced = 0
        while head < outstanding.count {
            let tag = outstanding[head]
            if acked.remove(tag) != nil {
                highest = tag
                coalesced += 1
            } else if settledElsewhere.contains(tag) {
                // A nack or reject already went out for it; a multiple ack must not cover it again.
                if let run = highest {
                    frames.append(.ack(tag: run, multiple: coalesced > 1))
                    highest = nil
                    coalesced = 0
                }
                settledElsewhere.remove(tag)
            } else {
                break
            }
            head += 1
        }
        if let run = highest { frames.append(.ack(tag: run, multiple: coalesced > 1)) }
        // Acks behind a delivery the application still holds go out singly; they leave the run.
        for tag in acked.sorted() {
            frames.append(.ack(tag: tag, multiple: false))
            settledElsewhere.insert(tag)
        }
        acked.removeAll(keepingCapacity: true)
        compact()
        return frames
    }

    private mutating func skipSettled() {
        while head < outstanding.count, settledElsewhere.remove(outstanding[head]) != nil { head += 1 }
        compact()
    }

    private mutating func compact() {
        if head > 1024 && head * 2 > outstanding.count {
            outstanding.removeFirst(head)
            head = 0
        }
    }
}
