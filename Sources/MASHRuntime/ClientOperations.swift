import AMQP
import Foundation
import MASHService
import Sealing

/// What `/metrics` and `/health` say of a hub client (an adapter, a desk): a broker session and a store with an
/// outbox.
extension ServiceMetrics {
    /// Records the outbox backlog and whether the store can be read, and the broker connection's state.
    public func recordClient(connection: ConnectionStatus?, url: AMQPURL, outbox: Outbox) {
        if let backlog = try? outbox.backlog() {
            record("mash_outbox_backlog", Double(backlog))
            record("mash_store_readable", 1)
        } else {
            record("mash_store_readable", 0)
        }
        recordBroker(connection, url: url)
    }

    /// Connected, blocked by a broker alarm (`connection.blocked`), recoveries, and when each TLS certificate
    /// the connection uses expires.
    public func recordBroker(_ status: ConnectionStatus?, url: AMQPURL) {
        record("mash_broker_connected", status?.isConnected == true ? 1 : 0)
        record("mash_broker_blocked", status?.isBlocked == true ? 1 : 0)
        record("mash_broker_recoveries", Double(status?.recoveries ?? 0))
        for file in [url.caCertificateFile, url.certificateFile].compactMap({ $0 }) {
            if let expiry = CertificateExpiry.notAfter(pemFile: file) {
                record(
                    "mash_tls_certificate_expiry_timestamp_seconds", expiry.timeIntervalSince1970,
                    [("file", (file as NSString).lastPathComponent)])
            }
        }
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
