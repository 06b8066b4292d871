import MASHService

/// What `/metrics` and `/health` say of a hub client (an adapter, a desk): a broker session and a store with an
/// outbox.
extension ServiceMetrics {
    /// Records the outbox backlog (when the store can be read) and whether the broker is connected.
    public func recordClient(connected: Bool, outbox: Outbox) {
        if let backlog = try? outbox.backlog() { record("mash_outbox_backlog", Double(backlog)) }
        record("mash_broker_connected", connected ? 1 : 0)
    }
}

extension HealthReport {
    /// Failing while the broker connection is down or the store cannot be read.
    public static func client(connected: Bool, outbox: Outbox) -> HealthReport {
        var checks = [HealthReport.Check("broker", healthy: connected, connected ? "connected" : "not connected")]
        if let backlog = try? outbox.backlog() {
            checks.append(.init("store", healthy: true, "readable; outbox backlog \(backlog)"))
        } else {
            checks.append(.init("store", healthy: false, "cannot be read"))
        }
        return HealthReport(checks)
    }
}
