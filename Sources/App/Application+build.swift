import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Choices that tests (and only tests) make differently from the executable.
public struct BuildOptions: Sendable {
    /// Replaces the transport named by `EMAIL_TRANSPORT`.
    public var transport: (any EmailTransport)?
    /// Whether the in-process outbox worker runs; tests may drive delivery themselves.
    public var runsOutboxWorker: Bool
    /// The metrics registry to record into; a new one when nil.
    public var metrics: ServiceMetrics?
    /// Set by the executable's `DrainService` when a graceful shutdown begins.
    public var drain: ShutdownDrain
    /// Whether the metrics listener (`METRICS_HOST`:`METRICS_PORT`) runs; the executable
    /// turns it on, tests that build many applications at once leave it off.
    public var servesMetrics: Bool

    public init(
        transport: (any EmailTransport)? = nil, runsOutboxWorker: Bool = true, metrics: ServiceMetrics? = nil,
        drain: ShutdownDrain = ShutdownDrain(), servesMetrics: Bool = false
    ) {
        self.transport = transport
        self.runsOutboxWorker = runsOutboxWorker
        self.metrics = metrics
        self.drain = drain
        self.servesMetrics = servesMetrics
    }
}

/// How long start-up waits for the database before giving up with a clear error.
let databaseStartupTimeout: Duration = .seconds(30)

/// Wires stores, services and routes into an application that runs the HTTP server, the
/// database pool and the outbox worker under one service group.
public func buildApplication(
    configuration: AppConfiguration,
    logger: Logger,
    options: BuildOptions = BuildOptions()
) async throws -> some ApplicationProtocol {
    let metrics = options.metrics ?? ServiceMetrics()
    let tracing = try TracingBackend.make(configuration.tracing, logger: logger)
    let database = try await openDatabase(configuration.database, logger: logger, metrics: metrics)
    let gate = StartupGate()
    let signal = OutboxSignal()
    // bcrypt runs on its own pool, one thread per core at a lower priority (see
    // `PasswordHasher.pool`); admission control keeps its queue short.
    let hasher = PasswordHasher(
        cost: configuration.bcryptCost,
        threadPool: PasswordHasher.pool,
        metrics: metrics,
        admission: HashAdmission(workers: System.coreCount, budget: configuration.hashQueueBudget),
        refusalDelay: configuration.hashRefusalDelay
    )
    logger.info(
        "password hashing: bcrypt via \(hasher.implementation)",
        metadata: [
            "event": "password.hasher", "implementation": "\(hasher.implementation)",
            "available": "\(BcryptImplementation.available.map(\.description).joined(separator: ","))",
            "cost": "\(hasher.cost)",
        ])
    let policy = PasswordPolicy()
    // Load the common-password list now, so a broken build fails at start-up, not mid-request.
    logger.debug("password policy ready", metadata: ["common_passwords": "\(CommonPasswords.shared.count)"])

    let router = Router(context: AppRequestContext.self)
    // Outermost first: every response, errors and preflights included, gets the security
    // headers and a request id, and is logged; errors become problems inside CORS, so an
    // allowed front end can read them.
    router.middlewares.add(SecurityHeadersMiddleware(sendsHSTS: configuration.http.servesHTTPS))
    router.middlewares.add(DrainMiddleware(drain: options.drain))
    router.middlewares.add(RequestIDMiddleware())
    if configuration.tracing.enabled {
        router.middlewares.add(ServerSpanMiddleware(tracer: tracing.tracer))
    }
    router.middlewares.add(AccessLogMiddleware(metrics: metrics))
    router.middlewares.add(CORSPolicyMiddleware(allowedOrigins: configuration.http.corsAllowedOrigins))
    router.middlewares.add(
        ClientAddressMiddleware(
            trustedProxies: configuration.http.trustedProxies,
            bodyTimeout: configuration.http.requestTimeout
        ))
    router.middlewares.add(ProblemMiddleware())
    let requests = OutboxSignal()
    let (registration, resets) = makeAccountServices(
        configuration: configuration, database: database, hasher: hasher, policy: policy, signal: signal,
        requests: requests, metrics: metrics)
    let tokens = try await AccessTokens.make(settings: configuration.auth, logger: logger)
    let sessions = try await SessionService(
        store: database.accounts,
        hasher: hasher,
        tokens: tokens,
        refreshTokenTTL: configuration.auth.refreshTokenTTL,
        refreshTokenMaxAge: configuration.auth.refreshTokenMaxAge,
        familyRefreshLimit: (configuration.rateLimits.refreshPerFamily, configuration.rateLimits.window),
        registration: registration
    )
    let verification = VerificationService(store: database.accounts, hasher: hasher, metrics: metrics)
    let limiter = RateLimiter(store: database.rateLimits, window: configuration.rateLimits.window)
    let limits = configuration.rateLimits
    router.addRoutes(
        RegistrationController(service: registration, policy: policy, limiter: limiter, limits: limits).endpoints,
        atPath: "/v1"
    )
    router.addRoutes(
        VerificationController(
            service: verification,
            registration: registration,
            limiter: limiter,
            limits: limits,
            confirmStep: configuration.verifyConfirmStep
        ).endpoints,
        atPath: "/v1"
    )
    router.addRoutes(
        SessionController(sessions: sessions, limiter: limiter, limits: limits, metrics: metrics).endpoints,
        atPath: "/v1")
    router.addRoutes(
        PasswordResetController(service: resets, limiter: limiter, limits: limits).endpoints, atPath: "/v1")
    router.addRoutes(
        AccountController(
            store: database.accounts, tokens: tokens, admin: AdminService(store: database.accounts, signal: signal)
        ).endpoints,
        atPath: "/v1")
    let emailChanges = EmailChangeService(
        sessions: sessions, links: Links(baseURL: configuration.publicBaseURL),
        tokenTTL: configuration.verificationTokenTTL, signal: signal)
    router.addRoutes(
        SelfServiceController(
            sessions: sessions, emailChanges: emailChanges, policy: policy, signal: signal, tokens: tokens,
            limiter: limiter, limits: limits
        ).endpoints,
        atPath: "/v1")
    router.addRoutes(EmailChangeController(service: emailChanges).endpoints, atPath: "/v1")
    router.addRoutes(JWKSController(keySet: tokens.keySet).endpoints, atPath: "/.well-known")
    let emailHealth = EmailDeliveryHealth()
    router.addRoutes(
        HealthController(database: database, email: emailHealth, drain: options.drain).endpoints, atPath: "/health")
    router.addRoutes(try OpenAPIController().endpoints)

    var services: [any Service] = []
    // First in, last out: the exporter outlives every service that makes spans.
    if let service = tracing.service { services.append(service) }
    if let service = database.service { services.append(service) }
    if options.servesMetrics {
        services.append(
            buildMetricsApplication(
                metrics: metrics, outbox: database.outbox, host: configuration.metricsHost,
                port: configuration.metricsPort, logger: logger))
    }
    if options.runsOutboxWorker {
        services.append(
            EmailRequestResolver(
                store: database.accounts, registration: registration, resets: resets, requests: requests,
                outbox: signal, pollInterval: configuration.outbox.pollInterval, gate: gate, logger: logger))
        services.append(
            Housekeeping(
                rateLimits: database.rateLimits,
                accounts: database.accounts,
                window: configuration.rateLimits.window,
                settings: configuration.housekeeping,
                metrics: metrics,
                gate: gate,
                logger: logger
            )
        )
        services.append(
            OutboxWorker(
                store: database.outbox,
                transport: try options.transport
                    ?? makeTransport(configuration.emailTransport, outbox: configuration.outbox),
                sender: configuration.emailFrom,
                senderName: configuration.emailFromName,
                replyTo: configuration.emailReplyTo,
                settings: configuration.outbox,
                signal: signal,
                gate: gate,
                logger: logger,
                metrics: metrics,
                health: emailHealth,
                tracer: tracing.tracer
            )
        )
    }
    var app = Application(
        router: router,
        server: try makeServer(configuration.http),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.host, port: configuration.port),
            serverName: nil,
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.http.maxConnections)
        ),
        services: services,
        logger: logger
    )
    app.beforeServerStarts {
        try await migrate(database, within: databaseStartupTimeout, settings: configuration.database, logger: logger)
        await gate.open()
    }
    return app
}

/// The registration and password-reset services, made as the application makes them.
func makeAccountServices(
    configuration: AppConfiguration, database: any Database, hasher: PasswordHasher, policy: PasswordPolicy,
    signal: OutboxSignal, requests: OutboxSignal, metrics: ServiceMetrics
) -> (RegistrationService, PasswordResetService) {
    let links = Links(baseURL: configuration.publicBaseURL, passwordResetURL: configuration.accounts.passwordResetURL)
    let registration = RegistrationService(
        store: database.accounts,
        hasher: hasher,
        tokenTTL: configuration.verificationTokenTTL,
        links: links,
        signal: signal,
        resendCooldown: configuration.accounts.emailCooldown,
        idempotencyKeyTTL: configuration.accounts.idempotencyKeyTTL,
        emailBudget: RegistrationEmailBudget(
            store: database.rateLimits, cooldown: configuration.accounts.emailCooldown,
            perHour: configuration.accounts.registrationEmailsPerHour),
        requests: requests,
        metrics: metrics
    )
    let resets = PasswordResetService(
        store: database.accounts,
        hasher: hasher,
        policy: policy,
        links: links,
        signal: signal,
        settings: configuration.accounts,
        registration: registration
    )
    return (registration, resets)
}

/// A resolver of recorded resend and forgot requests, for a process (or a test) that drives it
/// itself rather than running the application's.
public func makeEmailRequestResolver(
    configuration: AppConfiguration, database: any Database, logger: Logger, outbox: OutboxSignal = OutboxSignal()
) -> EmailRequestResolver {
    let (registration, resets) = makeAccountServices(
        configuration: configuration, database: database, hasher: PasswordHasher(cost: configuration.bcryptCost),
        policy: PasswordPolicy(), signal: outbox, requests: OutboxSignal(), metrics: ServiceMetrics())
    return EmailRequestResolver(
        store: database.accounts, registration: registration, resets: resets, requests: OutboxSignal(), outbox: outbox,
        pollInterval: configuration.outbox.pollInterval, gate: StartupGate(open: true), logger: logger)
}

/// Opens the database `settings` name; PostgreSQL connects lazily, SQLite opens its file now.
public func openDatabase(
    _ settings: DatabaseSettings, logger: Logger, metrics: ServiceMetrics? = nil
) async throws
    -> any Database
{
    switch settings {
    case .postgres(let postgres): PostgresStorage(settings: postgres, logger: logger, metrics: metrics)
    case .sqlite(let path): try await SQLiteStorage.open(path: path, logger: logger)
    }
}

private func migrate(
    _ database: any Database,
    within limit: Duration,
    settings: DatabaseSettings,
    logger: Logger
) async throws {
    do {
        try await withTimeout(limit) { try await database.migrate(logger: logger) }
    } catch is TimeoutError {
        throw StartupError(
            description: "could not reach the database at \(settings.displayName) within \(limit.components.seconds) s"
        )
    }
}

/// HTTP/1.1, over TLS when configured, with the idle timeout and header size bounds.
func makeServer(_ settings: HTTPSettings) throws -> HTTPServerBuilder {
    let headTimeout = TimeAmount.nanoseconds(Int64(settings.requestTimeout.timeInterval * 1e9))
    let http1 = HTTP1Channel.Configuration(
        additionalChannelHandlers: [RequestHeadTimeoutHandler(timeout: headTimeout)],
        idleTimeout: .nanoseconds(Int64(settings.idleTimeout.timeInterval * 1e9)),
        httpDecoderConfiguration: .init(
            maxHeaderFieldSize: settings.maxHeaderSize, maxHeaderListSize: settings.maxHeaderSize)
    )
    guard let tls = settings.tls else { return .http1(configuration: http1) }
    return try .tls(.http1(configuration: http1), tlsConfiguration: tls)
}

/// The transport `EMAIL_TRANSPORT` names, with connections for `outbox.concurrency` emails in flight.
public func makeTransport(_ settings: EmailTransportSettings, outbox: OutboxSettings) throws -> any EmailTransport {
    switch settings {
    case .console:
        ConsoleEmailTransport()
    case .smtp(let smtp):
        try SMTPTransport(settings: smtp, maxConnections: outbox.concurrency, timeout: outbox.sendTimeout)
    case .ses(let ses):
        SESTransport(settings: ses, maxConnections: outbox.concurrency, timeout: outbox.sendTimeout)
    case .sendgrid(let sendgrid):
        SendGridTransport(settings: sendgrid, maxConnections: outbox.concurrency, timeout: outbox.sendTimeout)
    }
}

/// Start-up could not complete; the description is the one line an operator sees.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
}

/// Applies pending migrations and returns; for `registration-server migrate`.
public func migrateDatabase(configuration: AppConfiguration, logger: Logger) async throws {
    try await withMigratedDatabase(configuration: configuration, logger: logger) { _ in }
}

/// Gives `role` to the account with `email`; false when there is no such account.
/// For `registration-server users grant-role`: the first admin is made from the command line,
/// never through an HTTP backdoor.
public func grantRole(
    _ role: Role, to email: EmailAddress, configuration: AppConfiguration, logger: Logger
)
    async throws -> Bool
{
    try await withMigratedDatabase(configuration: configuration, logger: logger) { database in
        try await AdminService(store: database.accounts).setRole(role, email: email, by: .operator, logger: logger)
            != nil
    }
}

/// What an operator can do to an account from the command line.
public enum OperatorAction: String, Sendable, CaseIterable {
    case disable, enable, delete
}

/// Disables, enables or deletes the account with `email` as an operator (`registration-server
/// users disable|enable|delete`); false when there is no such account.
public func administer(
    _ action: OperatorAction, email: EmailAddress, configuration: AppConfiguration, logger: Logger
) async throws -> Bool {
    try await withMigratedDatabase(configuration: configuration, logger: logger) { database in
        let admin = AdminService(store: database.accounts)
        guard let id = try await admin.accountID(email: email) else { return false }
        switch action {
        case .disable: return try await admin.disable(accountID: id, by: .operator, logger: logger) != nil
        case .enable: return try await admin.enable(accountID: id, by: .operator, logger: logger) != nil
        case .delete: return try await admin.delete(accountID: id, by: .operator, requestID: nil, logger: logger)
        }
    }
}

/// Opens the database, runs its own service (the pool, or the SQLite closer) and the
/// migrations, then `body`; for the command-line tasks that run without the server.
private func withMigratedDatabase<Result: Sendable>(
    configuration: AppConfiguration,
    logger: Logger,
    _ body: @Sendable (any Database) async throws -> Result
) async throws -> Result {
    let database = try await openDatabase(configuration.database, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        if let service = database.service { group.addTask { try await service.run() } }
        defer { group.cancelAll() }
        try await migrate(database, within: databaseStartupTimeout, settings: configuration.database, logger: logger)
        return try await body(database)
    }
}
