import CoreMetrics
import Prometheus

/// One service's metrics: swift-metrics types backed by its own Prometheus registry, so two services in one
/// test process never share counters and nothing depends on the process-wide `MetricsSystem.bootstrap`.
///
/// Labels carry codes, queue names, agency ids and RAG ratings only: never a message's content, a person or a
/// free-text reason.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
            .seconds(30), .seconds(120),
        ]
        self.factory = factory
    }

    public func increment(_ name: String, by amount: Int = 1, _ labels: [(String, String)] = []) {
        Counter(label: name, dimensions: labels, factory: factory).increment(by: amount)
    }

    public func record(_ name: String, _ value: Double, _ labels: [(String, String)] = []) {
        Gauge(label: name, dimensions: labels, factory: factory).record(value)
    }

    public func time(_ name: String, _ duration: Duration, _ labels: [(String, String)] = []) {
        Timer(label: name, dimensions: labels, factory: factory).recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}
