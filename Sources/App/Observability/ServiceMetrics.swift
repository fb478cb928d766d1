import Foundation
import Prometheus

/// The service's Prometheus metrics, in a registry of its own (no process-wide bootstrap,
/// so every application instance, and every test, has its own).
///
/// Labels are bounded sets: route patterns (never raw paths, which may hold tokens),
/// methods, status classes and fixed outcome names.
public final class ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status_class", "\(status / 100)xx")]
        registry.makeCounter(
            descriptor: Self.descriptor("http_requests_total", help: "HTTP requests answered."), labels: labels
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "http_request_duration_seconds", help: "Time from receiving a request to its response."),
            labels: labels, buckets: Self.durationBuckets
        ).record(duration)
    }

    func registration(_ outcome: String) {
        count("registrations_total", outcome: outcome, help: "Accepted registrations by what they did.")
    }

    func verification(_ outcome: String) {
        count("verifications_total", outcome: outcome, help: "Verification link uses by outcome.")
    }

    func login(_ outcome: String) {
        count("logins_total", outcome: outcome, help: "Login attempts by outcome.")
    }

    func email(transport: String, outcome: String) {
        registry.makeCounter(
            descriptor: Self.descriptor("emails_total", help: "Email delivery attempts by transport and outcome."),
            labels: [("transport", transport), ("outcome", outcome)]
        ).increment()
    }

    /// Rows housekeeping deleted, by kind.
    func housekeepingDeleted(kind: String, count: Int) {
        guard count > 0 else { return }
        registry.makeCounter(
            descriptor: Self.descriptor(
                "housekeeping_deleted_total", help: "Rows deleted by housekeeping, by kind of data."),
            labels: [("kind", kind)]
        ).increment(by: Int64(count))
    }

    /// 1 while the transport's provider refuses our configuration, 0 otherwise.
    func emailConfigurationError(transport: String, present: Bool) {
        registry.makeGauge(
            descriptor: Self.descriptor(
                "email_transport_configuration_error",
                help: "1 while the email provider refuses the configured credentials or TLS trust."),
            labels: [("transport", transport)]
        ).set(Double(present ? 1 : 0))
    }

    func passwordHash(_ duration: Duration) {
        registry.makeDurationHistogram(
            descriptor: Self.descriptor(
                "password_hash_duration_seconds", help: "Time to hash or verify one password with bcrypt."), labels: [],
            buckets: Self.durationBuckets
        ).record(duration)
    }

    func outboxBacklog(pending: Int, oldestAge: TimeInterval) {
        registry.makeGauge(
            descriptor: Self.descriptor("outbox_pending_emails", help: "Emails waiting in the outbox."), labels: []
        ).set(
            Double(pending))
        registry.makeGauge(
            descriptor: Self.descriptor(
                "outbox_oldest_pending_age_seconds",
                help: "Age of the oldest email waiting in the outbox (0 when none)."), labels: []
        ).set(oldestAge)
    }

    func connectionsInUse(_ count: Int) {
        registry.makeGauge(
            descriptor: Self.descriptor(
                "db_connections_in_use", help: "Database connections leased by this instance right now."), labels: []
        ).set(Double(count))
    }

    /// The Prometheus text exposition of every metric.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func count(_ name: String, outcome: String, help: String) {
        registry.makeCounter(descriptor: Self.descriptor(name, help: help), labels: [("outcome", outcome)]).increment()
    }

    /// A metric's full name and help text (the registry's descriptor splits names into parts;
    /// ours are written whole).
    private static func descriptor(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
