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
        // A fixed-size pool, pinged when idle. The pool runs its idle and keep-alive timers as
        // `Task.sleep`s that are cancelled whenever a connection is leased, and a cancelled sleep
        // holds its memory until its deadline would have passed: with the defaults (60 s idle
        // timeout, 30 s keep-alive) a busy server held ~100 MB of them. With every connection
        // kept there are no idle timers, and a 5 s keep-alive bounds what the rest can hold.
        configuration.options.minimumConnections = min(settings.minConnections, settings.maxConnections)
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(5))
        configuration.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        let usage = ConnectionUsage(metrics: metrics)
        self.accounts = PostgresAccountStore(client: client, logger: logger, usage: usage)
        self.outbox = PostgresOutboxStore(client: client, logger: logger, usage: usage)
        self.rateLimits = PostgresRateLimitStore(client: client, logger: logger, usage: usage)
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
