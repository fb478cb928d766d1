import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle

/// The PostgreSQL database: a `PostgresClient` pool (run as a service beside the
/// application) and the stores built on it.
public struct PostgresStorage: Database {
    public let client: PostgresClient
    public let accounts: any AccountStore
    public let outbox: any OutboxStore
    public let rateLimits: any RateLimitStore
    private let migrator: PostgresMigrator
    private let logger: Logger

    public init(settings: PostgresSettings, logger: Logger, metrics: ServiceMetrics? = nil) {
        let tls: PostgresClient.Configuration.TLS
        switch settings.tlsMode {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(
            host: settings.host,
            port: settings.port,
            username: settings.username,
            password: settings.password,
            database: settings.database,
            tls: tls
        )
        configuration.options.maximumConnections = settings.maxConnections
        // Connections are opened on demand (minimum 0) and closed after 10 s idle.
        //
        // Not a fixed-size pool (minimum = maximum), though that would avoid idle timers: in
        // postgres-nio 1.33.2 a lease that needs a new connection asserts that the pool holds
        // at least its minimum (`createNewDemandConnectionIfPossible`), which is false while
        // connections are closing or backing off, i.e. whenever the database restarts. Under load
        // that crashed the process (SIGILL) within 2 s of every PostgreSQL restart; with a minimum
        // of 0 the assertion cannot fail.
        //
        // The pool's idle and keep-alive timers are `Task.sleep`s cancelled at every lease, and a
        // cancelled sleep holds its memory until its deadline: with the defaults (60 s idle, 30 s
        // keep-alive) a busy server held ~100 MB. Short timers (10 s and 5 s) bound that (measured
        // under GET /health/ready at 16 connections: peak RSS 49 MB fixed-size, see docs).
        configuration.options.minimumConnections = 0
        configuration.options.connectionIdleTimeout = .seconds(10)
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(5))
        configuration.options.connectTimeout = .seconds(5)
        // The server cancels a statement that runs too long, and ends a session whose transaction
        // was abandoned (a call cut short by `timeout`), so neither holds locks for long.
        let statementMilliseconds =
            settings.statementTimeout.components.seconds * 1000
            + settings.statementTimeout.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(statementMilliseconds)"),
            ("idle_in_transaction_session_timeout", "\(statementMilliseconds * 2)"),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        let calls = PostgresCalls(usage: ConnectionUsage(metrics: metrics), timeout: settings.timeout)
        self.accounts = PostgresAccountStore(client: Traced(client), logger: logger, calls: calls)
        self.outbox = PostgresOutboxStore(client: Traced(client), logger: logger, calls: calls)
        self.rateLimits = PostgresRateLimitStore(client: Traced(client), logger: logger, calls: calls)
        self.migrator = PostgresMigrator(client: client, migrations: PostgresMigrations.all)
        self.logger = logger
    }

    public var service: (any Service)? { client }

    public func migrate(logger: Logger) async throws {
        try await migrator.migrate(logger: logger)
    }

    public func isReady() async -> Bool {
        let latest = PostgresMigrations.all.map(\.version).max() ?? 0
        let version = try? await withTimeout(.seconds(2)) {
            try await migrator.appliedVersion(logger: logger)
        }
        return version == latest
    }
}
