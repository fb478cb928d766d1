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
        registry.makeCounter(name: "http_requests_total", labels: labels, help: "HTTP requests answered.").increment()
        registry.makeDurationHistogram(
            name: "http_request_duration_seconds",
            labels: labels,
            buckets: Self.durationBuckets,
            help: "Time from receiving a request to its response."
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
            name: "emails_total",
            labels: [("transport", transport), ("outcome", outcome)],
            help: "Email delivery attempts by transport and outcome."
        ).increment()
    }

    /// 1 while the transport's provider refuses our configuration, 0 otherwise.
    func emailConfigurationError(transport: String, present: Bool) {
        registry.makeGauge(
            name: "email_transport_configuration_error", labels: [("transport", transport)],
            help: "1 while the email provider refuses the configured credentials or TLS trust."
        ).set(Double(present ? 1 : 0))
    }

    func passwordHash(_ duration: Duration) {
        registry.makeDurationHistogram(
            name: "password_hash_duration_seconds",
            labels: [],
            buckets: Self.durationBuckets,
            help: "Time to hash or verify one password with bcrypt."
        ).record(duration)
    }

    func outboxBacklog(pending: Int, oldestAge: TimeInterval) {
        registry.makeGauge(name: "outbox_pending_emails", labels: [], help: "Emails waiting in the outbox.").set(
            Double(pending))
        registry.makeGauge(
            name: "outbox_oldest_pending_age_seconds",
            labels: [],
            help: "Age of the oldest email waiting in the outbox (0 when none)."
        ).set(oldestAge)
    }

    func connectionsInUse(_ count: Int) {
        registry.makeGauge(
            name: "db_connections_in_use",
            labels: [],
            help: "Database connections leased by this instance right now."
        ).set(Double(count))
    }

    /// The Prometheus text exposition of every metric.
    func render() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private func count(_ name: String, outcome: String, help: String) {
        registry.makeCounter(name: name, labels: [("outcome", outcome)], help: help).increment()
    }
}
