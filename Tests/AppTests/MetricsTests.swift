import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Prometheus metrics")
struct MetricsTests {
    /// The value of the sample `name{labels}` in a Prometheus text exposition.
    private func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// A scrape of the metrics listener that records into `env.metrics`.
    private func scrape(_ env: TestEnvironment) async throws -> TestResponse {
        let listener = buildMetricsApplication(
            metrics: env.metrics, outbox: env.database.outbox, host: "127.0.0.1", port: 0, logger: env.logger)
        return try await listener.test(.router) { client in try await client.execute(uri: "/metrics", method: .get) }
    }

    @Test(
        "metrics are served on their own listener, never on the public one, which answers 404",
        arguments: Backend.allCases)
    func ownListener(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "probe@example.com", password: "a good passphrase")
                let publicAnswer = try await client.execute(uri: "/metrics", method: .get)
                #expect(publicAnswer.status == .notFound)
                #expect(!publicAnswer.text.contains("registrations_total"))
                let listener = buildMetricsApplication(
                    metrics: env.metrics, outbox: env.database.outbox, host: "127.0.0.1", port: 0, logger: env.logger)
                let (scraped, other) = try await listener.test(.router) { metrics in
                    (
                        try await metrics.execute(uri: "/metrics", method: .get),
                        try await metrics.execute(uri: "/v1/register", method: .post)
                    )
                }
                #expect(scraped.text.contains("registrations_total"))
                #expect(other.status == .notFound)
            }
        }
    }

    @Test("the configuration refuses a metrics port equal to the public port")
    func samePort() throws {
        #expect(throws: ConfigurationError.self) {
            try AppConfiguration(environment: ["PORT": "9000", "METRICS_PORT": "9000"])
        }
        let configuration = try AppConfiguration(environment: [:])
        #expect(configuration.metricsHost == "127.0.0.1")
        #expect(configuration.metricsPort == 9464)
    }

    @Test("a scripted flow shows up in every metric with the expected counts", arguments: Backend.allCases)
    func scriptedFlow(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "m1@example.com", password: "a good passphrase")
                _ = try await client.register(email: "m1@example.com", password: "another passphrase")
                _ = try await client.register(email: "m2@example.com", password: "a good passphrase")
                _ = try await client.postJSON("/v1/register", "{}")
                // Three emails wait before delivery.
                let before = try await scrape(env)
                #expect(before.status == .ok)
                #expect(before.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                #expect(sample(before.text, "outbox_pending_emails") == 3)
                #expect((sample(before.text, "outbox_oldest_pending_age_seconds") ?? -1) >= 0)

                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent(to: "m2@example.com")[0].textBody))
                _ = try await client.verify(token: token)
                _ = try await client.verify(token: token)
                _ = try await client.verify(token: "nonsense")
                _ = try await client.login(email: "m2@example.com", password: "a good passphrase")
                _ = try await client.login(email: "m2@example.com", password: "wrong passphrase")
                _ = try await client.login(email: "m1@example.com", password: "another passphrase")
                _ = try await client.verify(token: String(repeating: "A", count: 43))

                let text = try await scrape(env).text
                #expect(sample(text, #"registrations_total{outcome="new"}"#) == 2)
                #expect(sample(text, #"registrations_total{outcome="pending_again"}"#) == 1)
                #expect(sample(text, #"verifications_total{outcome="verified"}"#) == 1)
                #expect(sample(text, #"verifications_total{outcome="already_verified"}"#) == 1)
                #expect(sample(text, #"verifications_total{outcome="invalid"}"#) == 2)
                #expect(sample(text, #"logins_total{outcome="success"}"#) == 1)
                // A pending account's login is a failed login like any other.
                #expect(sample(text, #"logins_total{outcome="invalid_credentials"}"#) == 2)
                #expect(sample(text, #"logins_total{outcome="email_not_verified"}"#) == nil)
                #expect(sample(text, #"emails_total{transport="capture",outcome="sent"}"#) == 3)
                // The pending m1's right password queued its link again.
                #expect(sample(text, "outbox_pending_emails") == 1)
                #expect(
                    sample(text, #"http_requests_total{route="/v1/register",method="POST",status_class="2xx"}"#) == 3)
                #expect(
                    sample(text, #"http_requests_total{route="/v1/register",method="POST",status_class="4xx"}"#) == 1)
                #expect(sample(text, #"http_requests_total{route="/v1/verify",method="GET",status_class="4xx"}"#) == 2)
                #expect(
                    sample(
                        text,
                        #"http_request_duration_seconds_count{route="/v1/login",method="POST",status_class="2xx"}"#)
                        == 1)
                // 3 registrations and 3 logins (the pending one checks the password waiting with
                // the latest link); the start-up dummy hash is made outside the service's hasher.
                #expect(sample(text, "password_hash_duration_seconds_count") == 6)
                // Every lease has been returned; SQLite has no pool and reports no such gauge.
                if backend == .postgres {
                    #expect(sample(text, "db_connections_in_use") == 0)
                }
                // Route labels are patterns: no token ever reaches the metrics.
                #expect(!text.contains(token))
                #expect(!text.contains("nonsense"))
            }
        }
    }
}

@Suite("Connection usage")
struct ConnectionUsageTests {
    @Test("the gauge counts leases while they are held")
    func gauge() async throws {
        let metrics = ServiceMetrics()
        let usage = ConnectionUsage(metrics: metrics)
        let inside = await usage.lease { usage.current }
        #expect(inside == 1)
        #expect(usage.current == 0)
        let text = String(decoding: metrics.render(), as: UTF8.self)
        #expect(text.contains("db_connections_in_use 0"))
    }
}
