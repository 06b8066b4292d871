import Synchronization

/// Wakes a task waiting for work (a request stored, a message committed) instead of having it poll. A ring
/// with nobody waiting is remembered and ends the next wait at once, so work that arrives between a look
/// for it and the wait is never missed.
public final class Doorbell: Sendable {
    private struct State {
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        /// Waits cancelled before their continuation was registered.
        var cancelled: Set<UInt64> = []
        var next: UInt64 = 0
        var rungUnheard = false
    }
    private let state = Mutex(State())

    public init() {}

    public func ring() {
        let all = state.withLock { state in
            if state.waiters.isEmpty { state.rungUnheard = true }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in all { waiter.resume() }
    }

    /// Returns when rung (or at once if rung since the last wait), after `limit`, or when cancelled.
    public func wait(upTo limit: Duration) async {
        let id = state.withLock { state -> UInt64? in
            if state.rungUnheard {
                state.rungUnheard = false
                return nil
            }
            state.next += 1
            return state.next
        }
        guard let id else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state in
                            if state.cancelled.remove(id) != nil { return true }
                            state.waiters[id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    let waiter = self.state.withLock { state in
                        guard let waiter = state.waiters.removeValue(forKey: id) else {
                            state.cancelled.insert(id)
                            return CheckedContinuation<Void, Never>?.none
                        }
                        return waiter
                    }
                    waiter?.resume()
                }
            }
            group.addTask { try? await Task.sleep(for: limit) }
            await group.next()
            group.cancelAll()
        }
    }
}
