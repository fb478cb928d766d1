import App
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing

/// One test's world: a fresh database, the application built on it, a capturing transport,
/// the captured log lines, and a direct connection pool for asserting on rows.
struct TestEnvironment {
    let configuration: AppConfiguration
    let database: PostgresStorage
    let transport: CapturingEmailTransport
    let logs: CapturingLogSink
    let logger: Logger

    var client: PostgresClient { database.client }

    /// Builds the environment and runs `body`; the app's own worker is off so tests decide
    /// when email is delivered (`deliverEmails()`).
    static func with<Result>(
        transport: CapturingEmailTransport = CapturingEmailTransport(),
        configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: (TestEnvironment) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withFresh { settings in
            let logs = CapturingLogSink()
            let logger = Logger(label: "test") { label in JSONLogHandler(label: label, level: .trace, sink: logs) }
            var configuration = AppConfiguration(
                postgres: settings,
                publicBaseURL: "https://accounts.example.test",
                emailFrom: EmailAddress("no-reply@example.test")!,
                bcryptCost: 4,
                outbox: OutboxSettings(retryBaseDelay: .zero)
            )
            configure(&configuration)
            let database = PostgresStorage(settings: settings, logger: logger)
            let environment = TestEnvironment(
                configuration: configuration,
                database: database,
                transport: transport,
                logs: logs,
                logger: logger
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                defer { group.cancelAll() }
                return try await body(environment)
            }
        }
    }

    func makeApplication() -> some ApplicationProtocol {
        buildApplication(
            configuration: configuration,
            logger: logger,
            options: BuildOptions(transport: transport, runsOutboxWorker: false)
        )
    }

    /// Runs the application (migrations included) and hands `body` a client for it.
    func withApp<Result>(
        _ setup: TestingSetup = .router,
        _ body: @Sendable (any TestClientProtocol) async throws -> Result
    ) async throws -> Result {
        try await makeApplication().test(setup, body)
    }

    func makeWorker(settings: OutboxSettings? = nil) -> OutboxWorker {
        OutboxWorker(
            store: database.outbox,
            transport: transport,
            sender: configuration.emailFrom,
            settings: settings ?? configuration.outbox,
            signal: OutboxSignal(),
            gate: StartupGate(open: true),
            logger: logger
        )
    }

    /// Delivers every due email once, as the background worker would.
    func deliverEmails() async throws {
        let worker = makeWorker()
        while try await worker.deliverDueEmails() > 0 {}
    }

    // MARK: Assertions on rows

    func count(_ sql: String) async throws -> Int {
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    func account(_ email: String) async throws -> (status: String, passwordHash: String?, verified: Bool)? {
        let rows = try await client.query(
            "SELECT status, password_hash, verified_at IS NOT NULL FROM users WHERE email_normalized = \(email.lowercased())",
            logger: logger
        )
        for try await row in rows.decode((String, String?, Bool).self) {
            return (status: row.0, passwordHash: row.1, verified: row.2)
        }
        return nil
    }
}
