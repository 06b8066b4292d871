import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What Swift tasks ask of the connection's thread. Each carries the continuation to resume with its outcome.
enum Command: Sendable {
    case publish(PendingPublish)
    case declare(Topology, remember: Bool, CheckedContinuation<Void, any Error>)
    case inspect(queue: String, CheckedContinuation<QueueState, any Error>)
    case delete(queue: String, CheckedContinuation<Void, any Error>)
    case purge(queue: String, CheckedContinuation<Void, any Error>)
    case consume(ConsumerRequest, CheckedContinuation<Void, any Error>)
    case cancel(consumerID: Int)
    /// No continuation: basic.ack, nack and reject have no reply in AMQP 0-9-1, so there is nothing to wait for.
    case settle(consumerID: Int, incarnation: Int, deliveryTag: UInt64, Settlement)
    case dropConnection(CheckedContinuation<Void, Never>)
    case close(CheckedContinuation<Void, Never>)
}

struct PendingPublish: Sendable {
    var message: OutboundMessage
    var exchange: String
    var routingKey: String
    /// Called once with nil when the broker confirmed the message, or with the reason it did not.
    var complete: @Sendable ((any Error)?) -> Void
}

struct ConsumerRequest: Sendable {
    var id: Int
    var queue: String
    var prefetch: UInt16
    var sink: DeliveryBatches
}

/// The queue of commands plus a pipe the connection's thread polls beside its socket, so a command wakes it
/// at once instead of waiting for the next poll timeout.
///
/// Waking a thread costs a system call on each side, so a sender writes to the pipe only when the thread has
/// said it is about to sleep: the thread sets `sleeping`, then looks at the queue; a sender appends, then looks
/// at `sleeping`. Whatever the interleaving, either the thread sees the command or the sender sees it asleep.
final class Mailbox: Sendable {
    private struct State {
        var commands: [Command] = []
        var closed = false
        var finished = false
    }

    private let state = Mutex(State())
    private let sleeping = Atomic<Bool>(false)
    private let signalled = Atomic<Bool>(false)
    private let wakeDescriptor: Int32
    private let signalDescriptor: Int32

    init() {
        var fds: [Int32] = [0, 0]
        let result = pipe(&fds)
        precondition(result == 0, "pipe failed: \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeDescriptor = fds[0]
        signalDescriptor = fds[1]
    }

    deinit {
        close(wakeDescriptor)
        close(signalDescriptor)
    }

    private func signal() {
        guard sleeping.load(ordering: .sequentiallyConsistent) else { return }
        guard !signalled.exchange(true, ordering: .sequentiallyConsistent) else { return }
        var one: UInt8 = 1
        _ = write(signalDescriptor, &one, 1)
    }

    /// Sleeps in `poll` until a command is posted, `socket` (if any) is readable, or the timeout passes.
    /// Returns at once when commands are already waiting. Returns poll's result (negative on error).
    func wait(socket: Int32?, timeoutMilliseconds: Int32) -> Int32 {
        sleeping.store(true, ordering: .sequentiallyConsistent)
        defer {
            sleeping.store(false, ordering: .sequentiallyConsistent)
            if signalled.exchange(false, ordering: .sequentiallyConsistent) {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeDescriptor, &drain, drain.count) > 0 {}
            }
        }
        if state.withLock({ !$0.commands.isEmpty }) { return 1 }
        var fds = [pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0)]
        if let socket { fds.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        return poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
    }

    /// Adds a command; false when the connection is closed (the caller reports `closedByClient`).
    func post(_ command: Command) -> Bool {
        let (accepted, wake) = state.withLock { state -> (Bool, Bool) in
            if state.closed { return (false, false) }
            state.commands.append(command)
            return (true, state.commands.count == 1)
        }
        if wake { signal() }
        return accepted
    }

    /// Adds a command even after `shut()`: used by `close()` itself, which must reach the thread while it
    /// runs. False once the thread has finished (there is nothing left to close).
    func postClose(_ command: Command) -> Bool {
        let accepted = state.withLock { state -> Bool in
            if state.finished { return false }
            state.commands.append(command)
            return true
        }
        if accepted { signal() }
        return accepted
    }

    /// The thread's last take: refuses everything from now on and returns what was still queued.
    func finish() -> [Command] {
        state.withLock { state in
            state.closed = true
            state.finished = true
            let commands = state.commands
            state.commands.removeAll()
            return commands
        }
    }

    /// Refuses further commands; what is already queued is still taken.
    func shut() {
        state.withLock { $0.closed = true }
    }

    /// Takes every queued command.
    func take() -> [Command] {
        state.withLock { state in
            let commands = state.commands
            state.commands.removeAll(keepingCapacity: true)
            return commands
        }
    }
}
