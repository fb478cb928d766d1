import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import SQLiteNIO
import ServiceLifecycle
import Testing

@testable import App

/// One test's world: a fresh database of the chosen backend, the application built on it,
/// a capturing transport, the captured log lines, and a connection of the test's own for
/// asserting on rows.
struct TestEnvironment {
    let backend: Backend
    let configuration: AppConfiguration
    let database: any Database
    let transport: CapturingEmailTransport
    let logs: CapturingLogSink
    let logger: Logger
    /// The registry the application and the test's worker record into.
    let metrics = ServiceMetrics()

    /// For tests that send many requests at once through a test pool of four connections while
    /// the whole suite loads the machine: database waits of up to 30 s instead of 6 s, so the
    /// test sees the behaviour it is about rather than the 503 that overload earns.
    static func patientDatabase(_ configuration: inout AppConfiguration) {
        guard case .postgres(var postgres) = configuration.database else { return }
        postgres.timeout = .seconds(30)
        postgres.statementTimeout = .seconds(25)
        configuration.database = .postgres(postgres)
    }

    /// Builds the environment and runs `body`; the app's own worker is off so tests decide
    /// when email is delivered (`deliverEmails()`).
    static func with<Result>(
        _ backend: Backend,
        transport: CapturingEmailTransport = CapturingEmailTransport(),
        configure: (inout AppConfiguration) -> Void = { _ in },
        _ body: (TestEnvironment) async throws -> Result
    ) async throws -> Result {
        try await backend.withFreshDatabase { settings in
            let logs = CapturingLogSink()
            // As the executable's: every line written inside a span carries its ids.
            let logger = Logger(label: "test") { label in
                var handler = JSONLogHandler(label: label, level: .trace, sink: logs)
                handler.metadataProvider = TracingBackend.logMetadata
                return handler
            }
            var configuration = AppConfiguration(
                database: settings,
                publicBaseURL: "https://accounts.example.test",
                emailFrom: EmailAddress("no-reply@example.test")!,
                bcryptCost: 4,
                outbox: OutboxSettings(retryBaseDelay: .zero),
                rateLimits: .unlimited
            )
            // Tests about email caps and cooldowns set them; the rest repeat freely.
            configuration.accounts.emailCooldown = .zero
            configuration.accounts.registrationEmailsPerHour = 1000
            configure(&configuration)
            // Rate limits count in fixed windows; a day-long one (aligned to midnight UTC) keeps
            // a test from straddling the end of a window, as a 15-minute one sometimes did.
            configuration.rateLimits.window = .seconds(86400)
            let database = try await openDatabase(settings, logger: logger)
            let environment = TestEnvironment(
                backend: backend,
                configuration: configuration,
                database: database,
                transport: transport,
                logs: logs,
                logger: logger
            )
            return try await withThrowingTaskGroup(of: Void.self) { group in
                if let service = database.service { group.addTask { try await service.run() } }
                defer { group.cancelAll() }
                return try await body(environment)
            }
        }
    }

    func makeApplication(runsOutboxWorker: Bool = false) async throws -> some ApplicationProtocol {
        try await buildApplication(
            configuration: configuration,
            logger: logger,
            options: BuildOptions(transport: transport, runsOutboxWorker: runsOutboxWorker, metrics: metrics)
        )
    }

    /// Runs the application (migrations included) and hands `body` a client for it.
    func withApp<Result>(
        _ setup: TestingSetup = .router,
        runsOutboxWorker: Bool = false,
        _ body: @Sendable (any TestClientProtocol) async throws -> Result
    ) async throws -> Result {
        try await makeApplication(runsOutboxWorker: runsOutboxWorker).test(setup, body)
    }

    func makeWorker(settings: OutboxSettings? = nil) -> OutboxWorker {
        OutboxWorker(
            store: database.outbox,
            transport: transport,
            sender: configuration.emailFrom,
            settings: settings ?? configuration.outbox,
            signal: OutboxSignal(),
            gate: StartupGate(open: true),
            logger: logger,
            metrics: metrics
        )
    }

    /// Resolves recorded resend and forgot requests, then delivers every due email once, as
    /// the background resolver and worker would.
    func deliverEmails() async throws {
        try await makeEmailRequestResolver(configuration: configuration, database: database, logger: logger)
            .resolvePending()
        let worker = makeWorker()
        while try await worker.deliverDueEmails() > 0 {}
    }

    // MARK: Direct SQL, for setting up and asserting on rows

    /// Runs a statement written in the common subset of both dialects.
    func execute(_ sql: String) async throws {
        switch database {
        case let postgres as PostgresStorage:
            try await postgres.client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        case let sqlite as SQLiteStorage:
            try await sqlite.withConnection { _ = try await $0.query(sql) }
        default:
            Issue.record("unknown database \(type(of: database))")
        }
    }

    /// Runs a statement written separately for each dialect.
    func execute(postgres: String, sqlite: String) async throws {
        try await execute(backend == .postgres ? postgres : sqlite)
    }

    /// The first column of the first row, as an integer (e.g. a `count(*)`).
    func count(_ sql: String) async throws -> Int {
        try await integers(sql).first ?? 0
    }

    func count(postgres: String, sqlite: String) async throws -> Int {
        try await count(backend == .postgres ? postgres : sqlite)
    }

    /// The first column of every row, as integers.
    func integers(_ sql: String) async throws -> [Int] {
        switch database {
        case let postgres as PostgresStorage:
            var values: [Int] = []
            for try await value in try await postgres.client.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                .decode(Int.self)
            {
                values.append(value)
            }
            return values
        case let sqlite as SQLiteStorage:
            return try await sqlite.withConnection { connection in
                try await connection.query(sql).map { Int($0.columns.first?.data.integer ?? 0) }
            }
        default:
            Issue.record("unknown database \(type(of: database))")
            return []
        }
    }

    func account(_ email: String) async throws -> (status: String, passwordHash: String?, verified: Bool)? {
        let normalized = email.lowercased()
        switch database {
        case let postgres as PostgresStorage:
            let rows = try await postgres.client.query(
                "SELECT status, password_hash, verified_at IS NOT NULL FROM users WHERE email_normalized = \(normalized)",
                logger: logger
            )
            for try await row in rows.decode((String, String?, Bool).self) {
                return (status: row.0, passwordHash: row.1, verified: row.2)
            }
            return nil
        case let sqlite as SQLiteStorage:
            return try await sqlite.withConnection { connection in
                let rows = try await connection.query(
                    "SELECT status, password_hash, verified_at IS NOT NULL AS verified FROM users WHERE email_normalized = ?",
                    [.text(normalized)]
                )
                return rows.first.map { row in
                    (
                        status: row.column("status")?.string ?? "",
                        passwordHash: row.column("password_hash")?.string,
                        verified: row.column("verified")?.bool ?? false
                    )
                }
            }
        default:
            Issue.record("unknown database \(type(of: database))")
            return nil
        }
    }

    /// The SHA-256 hashes stored for verification tokens.
    func verificationTokenHashes() async throws -> [Data] {
        switch database {
        case let postgres as PostgresStorage:
            var hashes: [Data] = []
            for try await hash in try await postgres.client.query(
                "SELECT token_hash FROM verification_tokens", logger: logger
            )
            .decode(Data.self) {
                hashes.append(hash)
            }
            return hashes
        case let sqlite as SQLiteStorage:
            return try await sqlite.withConnection { connection in
                try await connection.query("SELECT token_hash FROM verification_tokens").compactMap { row in
                    row.column("token_hash")?.blob.map { Data(buffer: $0) }
                }
            }
        default:
            return []
        }
    }

    func expireVerificationTokens() async throws {
        try await expire("verification_tokens")
    }

    /// Moves the expiry of every row of `table` into the past.
    func expire(_ table: String) async throws {
        try await execute(
            postgres: "UPDATE \(table) SET expires_at = now() - interval '1 second'",
            sqlite: "UPDATE \(table) SET expires_at = unixepoch('subsec') - 1"
        )
    }

    /// Whole seconds between creation and expiry of each verification token.
    func verificationTokenLifetimes() async throws -> [Int] {
        try await integers(
            backend == .postgres
                ? "SELECT round(extract(epoch FROM expires_at - created_at))::int FROM verification_tokens"
                : "SELECT CAST(round(expires_at - created_at) AS INTEGER) FROM verification_tokens"
        )
    }

    /// Makes every pending outbox email due now (as if its backoff or lease had run out).
    func makeOutboxDue() async throws {
        try await execute(
            postgres: "UPDATE email_outbox SET next_attempt_at = now()",
            sqlite: "UPDATE email_outbox SET next_attempt_at = unixepoch('subsec')"
        )
    }

    /// Seconds until the (single) outbox email is due again.
    func secondsUntilNextAttempt() async throws -> Int {
        try await count(
            postgres: "SELECT round(extract(epoch FROM next_attempt_at - now()))::int FROM email_outbox",
            sqlite: "SELECT CAST(round(next_attempt_at - unixepoch('subsec')) AS INTEGER) FROM email_outbox"
        )
    }

    /// Makes the database refuse every insert into the outbox, as a real failure would.
    func makeOutboxInsertsFail() async throws {
        switch backend {
        case .postgres:
            try await execute(
                """
                CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$
                """
            )
            try await execute(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION refuse_outbox()"
            )
        case .sqlite:
            try await execute(
                "CREATE TRIGGER refuse_outbox BEFORE INSERT ON email_outbox BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END"
            )
        }
    }

    // MARK: Account flows

    /// Registers and verifies `email`, leaving an active account with `password`.
    func activate(_ client: some TestClientProtocol, email: String, password: String) async throws {
        let response = try await client.register(email: email, password: password)
        #expect(response.status == .accepted)
        try await deliverEmails()
        let message = try #require(transport.sent(to: email).last)
        let token = try #require(verificationToken(in: message.textBody))
        #expect(try await client.verify(token: token).status == .ok)
    }
}
