import Testing

@testable import AMQP

@Suite("Confirm window")
struct ConfirmWindowTests {
    @Test("tags count up from 1 and a single ack settles only its own tag")
    func singleAck() {
        var window = ConfirmWindow<String>(capacity: 4)
        #expect(window.sent(messageID: "a", payload: "A") == 1)
        #expect(window.sent(messageID: "b", payload: "B") == 2)
        let settled = window.acked(tag: 2, multiple: false)
        #expect(settled.map(\.0) == ["B"])
        #expect(settled.map(\.1) == [.confirmed])
        #expect(window.count == 1)
    }

    @Test("a multiple ack settles every tag up to it, including ones left behind by out-of-order acks")
    func multipleAck() {
        var window = ConfirmWindow<String>(capacity: 8)
        for id in ["a", "b", "c", "d", "e"] { window.sent(messageID: id, payload: id.uppercased()) }
        #expect(window.acked(tag: 3, multiple: false).map(\.0) == ["C"])
        #expect(window.acked(tag: 4, multiple: true).map(\.0) == ["A", "B", "D"])
        #expect(window.count == 1)
        #expect(window.acked(tag: 4, multiple: true).isEmpty)
    }

    @Test("a return followed by the ack of the same message is reported as returned, others stay confirmed")
    func returnThenAck() {
        var window = ConfirmWindow<String>(capacity: 8)
        window.sent(messageID: "routed", payload: "R")
        window.sent(messageID: "lost", payload: "L")
        window.returned(messageID: "lost", replyCode: 312, replyText: "NO_ROUTE")
        let settled = window.acked(tag: 2, multiple: true)
        #expect(settled.count == 2)
        #expect(settled[0].1 == .confirmed)
        #expect(settled[1].1 == .returned(replyCode: 312, replyText: "NO_ROUTE"))
    }

    @Test("a nack is reported as nacked")
    func nack() {
        var window = ConfirmWindow<String>(capacity: 2)
        window.sent(messageID: "x", payload: "X")
        #expect(window.nacked(tag: 1, multiple: false).map(\.1) == [.nacked])
    }

    @Test("the window is full at capacity and has room again after an ack")
    func capacity() {
        var window = ConfirmWindow<Int>(capacity: 2)
        window.sent(messageID: "1", payload: 1)
        #expect(!window.isFull)
        window.sent(messageID: "2", payload: 2)
        #expect(window.isFull)
        _ = window.acked(tag: 1, multiple: false)
        #expect(!window.isFull)
    }

    @Test("unconfirmed messages come back oldest first and tags restart at 1 on the next channel")
    func takeUnconfirmed() {
        var window = ConfirmWindow<Int>(capacity: 8)
        for i in 1...5 { window.sent(messageID: "\(i)", payload: i) }
        _ = window.acked(tag: 2, multiple: false)
        window.returned(messageID: "4", replyCode: 312, replyText: "NO_ROUTE")
        #expect(window.takeUnconfirmed() == [1, 3, 4, 5])
        #expect(window.isEmpty)
        #expect(window.sent(messageID: "4", payload: 4) == 1)
        // The return recorded on the old channel does not leak onto the new one.
        #expect(window.acked(tag: 1, multiple: false).map(\.1) == [.confirmed])
    }
}

@Suite("Reconnect backoff")
struct BackoffTests {
    @Test("delays double from the initial delay and stop at the maximum")
    func exponential() {
        let backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.baseDelay(attempt: 0) == .milliseconds(100))
        #expect(backoff.baseDelay(attempt: 1) == .milliseconds(200))
        #expect(backoff.baseDelay(attempt: 3) == .milliseconds(800))
        #expect(backoff.baseDelay(attempt: 4) == .seconds(1))
        #expect(backoff.baseDelay(attempt: 1000) == .seconds(1))
    }

    @Test("jitter only shortens a delay, by at most a fifth")
    func jitter() {
        let backoff = Backoff(initial: .seconds(1), maximum: .seconds(1))
        #expect(backoff.delay(attempt: 0, random: 0) == .seconds(1))
        #expect(backoff.delay(attempt: 0, random: 0.5) == .milliseconds(900))
        #expect(backoff.delay(attempt: 0, random: 0.999) > .milliseconds(800))
    }
}
