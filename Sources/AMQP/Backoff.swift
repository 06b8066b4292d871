/// Reconnect delays: exponential from `initial` up to `maximum`, with up to 20 % jitter so that the services of
/// a hub do not all reconnect at the same instant after a broker restart.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10), multiplier: Double = 2) {
        precondition(initial > .zero && maximum >= initial && multiplier >= 1)
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
    }

    /// The delay before attempt `attempt` (0 for the first retry), before jitter.
    public func baseDelay(attempt: Int) -> Duration {
        var delay = initial
        for _ in 0..<min(attempt, 64) {
            delay = delay * multiplier
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// The delay with jitter drawn from `random`, a value in 0..<1 (injected so tests can fix it).
    public func delay(attempt: Int, random: Double) -> Duration {
        baseDelay(attempt: attempt) * (1 - 0.2 * random)
    }
}
