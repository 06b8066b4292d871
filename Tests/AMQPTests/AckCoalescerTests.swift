import Testing

@testable import AMQP

@Suite("Ack coalescing")
struct AckCoalescerTests {
    @Test("a contiguous run of acks from the oldest delivery becomes one multiple ack")
    func contiguousRun() {
        var acks = AckCoalescer()
        for tag: UInt64 in 1...5 { acks.delivered(tag) }
        for tag: UInt64 in 1...3 { acks.ack(tag) }
        #expect(acks.flush() == [.ack(tag: 3, multiple: true)])
        acks.ack(4)
        #expect(acks.flush() == [.ack(tag: 4, multiple: false)])
        #expect(acks.flush() == [])
    }

    @Test("an ack behind an unsettled delivery goes out singly and is not covered again later")
    func gap() {
        var acks = AckCoalescer()
        for tag: UInt64 in 1...4 { acks.delivered(tag) }
        acks.ack(2)
        acks.ack(3)
        #expect(acks.flush() == [.ack(tag: 2, multiple: false), .ack(tag: 3, multiple: false)])
        acks.ack(1)
        acks.ack(4)
        // 1 alone (2 and 3 were already sent), then 4 alone: a multiple ack up to 4 would ack 2 and 3 twice.
        #expect(acks.flush() == [.ack(tag: 1, multiple: false), .ack(tag: 4, multiple: false)])
    }

    @Test("a nacked delivery splits the run so that no multiple ack covers it")
    func nackInTheMiddle() {
        var acks = AckCoalescer()
        for tag: UInt64 in 1...5 { acks.delivered(tag) }
        acks.ack(1)
        acks.ack(2)
        acks.settledDirectly(3)
        acks.ack(4)
        acks.ack(5)
        #expect(acks.flush() == [.ack(tag: 2, multiple: true), .ack(tag: 5, multiple: true)])
    }

    @Test("a single ack is sent without the multiple flag")
    func single() {
        var acks = AckCoalescer()
        acks.delivered(7)
        acks.ack(7)
        #expect(acks.flush() == [.ack(tag: 7, multiple: false)])
    }

    @Test("a consumer that only nacks or rejects does not grow the coalescer: flushing drops settled tags")
    func nackOnlyStaysBounded() {
        var acks = AckCoalescer()
        for tag: UInt64 in 1...5000 {
            acks.delivered(tag)
            acks.settledDirectly(tag)
            #expect(acks.flush() == [])
        }
        #expect(acks.outstandingCount == 0)
    }
}
