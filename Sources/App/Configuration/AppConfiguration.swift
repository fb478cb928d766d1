import Foundation
import Logging

/// Every setting of the service, read from the environment once at start-up.
///
/// Nothing else in the application reads the environment: components receive the
/// typed values they need from here.
public struct AppConfiguration: Sendable {
    public var environment: AppEnvironment
    public var host: String
    public var port: Int
    /// The metrics listener's address (`METRICS_HOST`, `METRICS_PORT`): never the public port.
    public var metricsHost = "127.0.0.1"
    public var metricsPort = 9464
    /// `DATABASE_TLS=disable`: production's explicit opt-out of an encrypted database
    /// connection (logged at start-up).
    public var databaseTLSDisabled = false
    public var database: DatabaseSettings
    /// Base of links in emails, without a trailing slash, e.g. `https://accounts.example.com`.
    public var publicBaseURL: String
    public var emailFrom: EmailAddress
    /// Display name shown with `emailFrom` (`EMAIL_FROM_NAME`).
    public var emailFromName: String?
    /// Where replies go (`EMAIL_REPLY_TO`); the sender otherwise.
    public var emailReplyTo: EmailAddress?
    public var emailTransport: EmailTransportSettings
    public var bcryptCost: Int
    public var verificationTokenTTL: Duration
    public var logLevel: Logger.Level
    public var outbox: OutboxSettings
    public var auth: AuthSettings
    public var accounts: AccountSettings
    public var housekeeping = HousekeepingSettings()
    /// OpenTelemetry tracing (`OTEL_*`); off unless an OTLP endpoint is set.
    public var tracing = TracingSettings()
    public var http: HTTPSettings
    public var rateLimits: RateLimitSettings
    /// Verification links open a confirmation page; a POST from it activates (see SECURITY.md).
    public var verifyConfirmStep: Bool
    /// Longest a registration or login may wait for, and spend on, its password hash before it
    /// is refused with 503 instead of queued.
    public var hashQueueBudget: Duration
    /// How long a refused registration or login waits before its 503 goes out: bounds what a
    /// client retrying in a tight loop can take from the hashes that were admitted.
    public var hashRefusalDelay: Duration
    /// How long a SIGTERM drains (readiness failing, `Connection: close`) before the server stops.
    public var shutdownGrace: Duration

    public init(
        environment: AppEnvironment = .development,
        host: String = "127.0.0.1",
        port: Int = 8080,
        database: DatabaseSettings,
        publicBaseURL: String = "http://localhost:8080",
        emailFrom: EmailAddress,
        emailFromName: String? = nil,
        emailReplyTo: EmailAddress? = nil,
        emailTransport: EmailTransportSettings = .console,
        bcryptCost: Int = 12,
        verificationTokenTTL: Duration = .seconds(3600),
        logLevel: Logger.Level = .info,
        outbox: OutboxSettings = OutboxSettings(),
        auth: AuthSettings? = nil,
        accounts: AccountSettings = AccountSettings(),
        http: HTTPSettings = HTTPSettings(),
        rateLimits: RateLimitSettings = RateLimitSettings(),
        verifyConfirmStep: Bool = false,
        hashQueueBudget: Duration = .milliseconds(400),
        hashRefusalDelay: Duration = .milliseconds(50),
        shutdownGrace: Duration = .zero
    ) {
        self.environment = environment
        self.host = host
        self.port = port
        self.database = database
        self.publicBaseURL = publicBaseURL
        self.emailFrom = emailFrom
        self.emailFromName = emailFromName
        self.emailReplyTo = emailReplyTo
        self.emailTransport = emailTransport
        self.bcryptCost = bcryptCost
        self.verificationTokenTTL = verificationTokenTTL
        self.logLevel = logLevel
        self.outbox = outbox
        self.auth = auth ?? AuthSettings(issuer: publicBaseURL, audience: publicBaseURL)
        self.accounts = accounts
        self.http = http
        self.rateLimits = rateLimits
        self.verifyConfirmStep = verifyConfirmStep
        self.hashQueueBudget = hashQueueBudget
        self.hashRefusalDelay = hashRefusalDelay
        self.shutdownGrace = shutdownGrace
    }

    /// Reads and validates the settings; the first bad value throws an error naming its variable.
    ///
    /// - Parameter workingDirectory: resolves a relative SQLite path (the process's by default).
    public init(
        environment: [String: String],
        workingDirectory: String = FileManager.default.currentDirectoryPath
    ) throws(ConfigurationError) {
        let env = EnvironmentReader(values: environment)
        let port = try env.integer("PORT", default: 8080, range: 1...65535)
        let appEnvironment = try env.oneOf(
            "APP_ENV",
            default: AppEnvironment.development,
            choices: ["development": .development, "production": .production]
        )
        let maxConnections = try env.integer("DATABASE_MAX_CONNECTIONS", default: 10, range: 1...500)
        let databaseURL = env.string("DATABASE_URL")
        if appEnvironment == .production && databaseURL == nil {
            throw ConfigurationError(
                variable: "DATABASE_URL",
                reason: "is required when APP_ENV=production (postgres://… or sqlite:PATH)"
            )
        }
        var database = try DatabaseSettings(
            url: databaseURL,
            maxConnections: maxConnections,
            workingDirectory: workingDirectory
        )
        let statementTimeout = try env.integer("DATABASE_STATEMENT_TIMEOUT_MS", default: 5000, range: 100...600_000)
        let databaseTimeout = try env.integer("DATABASE_TIMEOUT_MS", default: 6000, range: 100...600_000)
        // The credentials may come apart from the URL, as separate secrets: ECS injects the
        // `username` and `password` keys of one Secrets Manager secret, and rotating them
        // (docs/DEPLOY.md) changes no other setting.
        let databaseUsername = env.string("DATABASE_USERNAME")
        let databasePassword = env.string("DATABASE_PASSWORD")
        if case .postgres(var postgres) = database {
            postgres.statementTimeout = .milliseconds(statementTimeout)
            postgres.timeout = .milliseconds(databaseTimeout)
            if let databaseUsername { postgres.username = databaseUsername }
            if let databasePassword { postgres.password = databasePassword }
            database = .postgres(postgres)
        } else if databaseUsername != nil || databasePassword != nil {
            throw ConfigurationError(
                variable: databasePassword != nil ? "DATABASE_PASSWORD" : "DATABASE_USERNAME",
                reason: "applies to a postgres:// DATABASE_URL only"
            )
        }
        let publicBaseURL = try Self.publicBaseURL(env.string("PUBLIC_BASE_URL", default: "http://localhost:\(port)"))
        let fromRaw = env.string("EMAIL_FROM", default: "no-reply@example.com")
        guard let emailFrom = EmailAddress(fromRaw) else {
            throw ConfigurationError(
                variable: "EMAIL_FROM", reason: "must be a plain email address, got \"\(fromRaw)\"")
        }
        let fromName = env.string("EMAIL_FROM_NAME")
        if let fromName,
            fromName.count > 100 || fromName.unicodeScalars.contains(where: MIMEMessage.isForbiddenInHeader)
        {
            throw ConfigurationError(
                variable: "EMAIL_FROM_NAME", reason: "must be at most 100 characters without control characters")
        }
        var replyTo: EmailAddress?
        if let raw = env.string("EMAIL_REPLY_TO") {
            guard let address = EmailAddress(raw) else {
                throw ConfigurationError(
                    variable: "EMAIL_REPLY_TO", reason: "must be a plain email address, got \"\(raw)\"")
            }
            replyTo = address
        }
        let transport = try EmailTransportSettings.read(env, environment: appEnvironment)
        // Bcrypt itself accepts 4...31 and crashes outside it; below 10 is too weak for production
        // but useful in tests, so the bound here is the library's.
        let cost = try env.integer("BCRYPT_COST", default: 12, range: 4...31)
        let ttl = try env.integer("VERIFICATION_TOKEN_TTL", default: 3600, range: 60...(30 * 24 * 3600))
        let levels: [String: Logger.Level] = Dictionary(
            uniqueKeysWithValues: Logger.Level.allCases.map { ($0.rawValue, $0) } + [("warn", .warning)]
        )
        let logLevel = try env.oneOf("LOG_LEVEL", default: Logger.Level.info, choices: levels)
        let sendTimeout = try env.integer("EMAIL_SEND_TIMEOUT_MS", default: 10_000, range: 100...300_000)
        let outbox = OutboxSettings(
            pollInterval: .milliseconds(try env.integer("OUTBOX_POLL_INTERVAL_MS", default: 1000, range: 10...60000)),
            maxAttempts: try env.integer("OUTBOX_MAX_ATTEMPTS", default: 8, range: 1...100),
            retryBaseDelay: .seconds(try env.integer("OUTBOX_RETRY_BASE_DELAY", default: 30, range: 0...86400)),
            // Renewed every third of itself while a send is in flight, so it needs to outlast
            // only a renewal's own database call, not a whole attempt.
            claimLease: .milliseconds(try env.integer("OUTBOX_LEASE_MS", default: 15_000, range: 3000...600_000)),
            concurrency: try env.integer("OUTBOX_CONCURRENCY", default: 8, range: 1...256),
            sendTimeout: .milliseconds(sendTimeout)
        )
        let auth = try AuthSettings.read(env, environment: appEnvironment, publicBaseURL: publicBaseURL)
        var resetURL: String?
        if let raw = env.string("PASSWORD_RESET_URL") {
            do {
                resetURL = try Self.absoluteURL(raw)
            } catch {
                throw ConfigurationError(
                    variable: "PASSWORD_RESET_URL", reason: "must be an absolute http(s) URL, got \"\(raw)\"")
            }
        }
        let accounts = AccountSettings(
            emailCooldown: .seconds(try env.integer("EMAIL_COOLDOWN", default: 60, range: 0...86400)),
            passwordResetTokenTTL: .seconds(
                try env.integer("PASSWORD_RESET_TOKEN_TTL", default: 1800, range: 300...86400)),
            passwordResetURL: resetURL,
            idempotencyKeyTTL: .seconds(
                try env.integer("IDEMPOTENCY_KEY_TTL", default: 86400, range: 60...(7 * 86400))),
            registrationEmailsPerHour: try env.integer("REGISTRATION_EMAILS_PER_HOUR", default: 5, range: 1...1000)
        )
        let http = try HTTPSettings.read(env, environment: appEnvironment)
        let limit = { (name: String, value: Int) throws(ConfigurationError) -> Int in
            try env.integer(name, default: value, range: 1...1_000_000)
        }
        let defaults = RateLimitSettings()
        let rateLimits = RateLimitSettings(
            window: .seconds(try env.integer("RATE_LIMIT_WINDOW", default: 900, range: 1...86400)),
            registerPerIP: try limit("RATE_LIMIT_REGISTER_PER_IP", defaults.registerPerIP),
            registerPerEmail: try limit("RATE_LIMIT_REGISTER_PER_EMAIL", defaults.registerPerEmail),
            loginPerIP: try limit("RATE_LIMIT_LOGIN_PER_IP", defaults.loginPerIP),
            loginFailuresPerAccount: try limit("LOGIN_FAILURES_PER_ACCOUNT", defaults.loginFailuresPerAccount),
            loginFailuresPerAccountCeiling: try limit(
                "LOGIN_FAILURES_PER_ACCOUNT_CEILING", defaults.loginFailuresPerAccountCeiling),
            emailRequestsPerIP: try limit("RATE_LIMIT_EMAIL_REQUESTS_PER_IP", defaults.emailRequestsPerIP),
            emailRequestsPerAddress: try limit(
                "RATE_LIMIT_EMAIL_REQUESTS_PER_ADDRESS", defaults.emailRequestsPerAddress),
            refreshPerIP: try limit("RATE_LIMIT_REFRESH_PER_IP", defaults.refreshPerIP),
            refreshPerFamily: try limit("RATE_LIMIT_REFRESH_PER_FAMILY", defaults.refreshPerFamily)
        )
        let verifyConfirmStep = try env.oneOf(
            "VERIFY_CONFIRM_STEP",
            default: false,
            choices: ["true": true, "false": false, "1": true, "0": false]
        )
        self.init(
            environment: appEnvironment,
            host: env.string("HOST", default: "127.0.0.1"),
            port: port,
            database: database,
            publicBaseURL: publicBaseURL,
            emailFrom: emailFrom,
            emailFromName: fromName,
            emailReplyTo: replyTo,
            emailTransport: transport,
            bcryptCost: cost,
            verificationTokenTTL: .seconds(ttl),
            logLevel: logLevel,
            outbox: outbox,
            auth: auth,
            accounts: accounts,
            http: http,
            rateLimits: rateLimits,
            verifyConfirmStep: verifyConfirmStep,
            hashQueueBudget: .milliseconds(try env.integer("HASH_QUEUE_BUDGET_MS", default: 400, range: 0...600_000)),
            hashRefusalDelay: .milliseconds(try env.integer("HASH_REFUSAL_DELAY_MS", default: 50, range: 0...10_000)),
            // Production sits behind a load balancer that needs time to see readiness fail;
            // a developer's Ctrl-C should not wait.
            shutdownGrace: .seconds(
                try env.integer(
                    "SHUTDOWN_GRACE_SECONDS", default: appEnvironment == .production ? 10 : 0, range: 0...300))
        )
        housekeeping = try HousekeepingSettings.read(env)
        tracing = try TracingSettings(reading: env)
        metricsHost = env.string("METRICS_HOST", default: "127.0.0.1")
        metricsPort = try env.integer("METRICS_PORT", default: 9464, range: 1...65535)
        guard metricsPort != port else {
            throw ConfigurationError(
                variable: "METRICS_PORT", reason: "must differ from PORT (\(port)): metrics never share the public port"
            )
        }
        let databaseTLS = try env.oneOf("DATABASE_TLS", default: true, choices: ["require": true, "disable": false])
        databaseTLSDisabled = !databaseTLS
        if appEnvironment == .production {
            try refuseWeakProductionSettings(databaseTLS: databaseTLS)
        }
    }

    /// What `APP_ENV=production` refuses besides the rules read with each setting: links over
    /// plain HTTP, a database connection that may be unencrypted or unauthenticated, a weak
    /// bcrypt cost, a trace exporter's credentials sent in the clear over the network.
    private func refuseWeakProductionSettings(databaseTLS: Bool) throws(ConfigurationError) {
        guard publicBaseURL.lowercased().hasPrefix("https://") else {
            throw ConfigurationError(
                variable: "PUBLIC_BASE_URL",
                reason: "must be an https URL when APP_ENV=production: the links in emails carry one-time tokens")
        }
        if case .postgres(let postgres) = database, postgres.tlsMode != .require, databaseTLS {
            throw ConfigurationError(
                variable: "DATABASE_URL",
                reason:
                    "needs sslmode=require (or verify-full) when APP_ENV=production; for a database on the same "
                    + "private host, opt out explicitly with DATABASE_TLS=disable"
            )
        }
        guard bcryptCost >= 10 else {
            throw ConfigurationError(variable: "BCRYPT_COST", reason: "must be at least 10 when APP_ENV=production")
        }
        if let endpoint = tracing.endpoint.flatMap(URLComponents.init(string:)), !tracing.headers.isEmpty,
            endpoint.scheme?.lowercased() == "http", !Self.isLoopback(endpoint.host ?? "")
        {
            throw ConfigurationError(
                variable: "OTEL_EXPORTER_OTLP_HEADERS",
                reason:
                    "would be sent in the clear to \(endpoint.host ?? "the collector") when APP_ENV=production: use an "
                    + "https endpoint, or a collector on this host (http://localhost:4318)")
        }
    }

    /// `localhost`, 127.0.0.0/8 or ::1: traffic that never leaves the host (or the task).
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// An absolute http(s) URL without fragment (a query is allowed).
    static func absoluteURL(_ raw: String) throws(ConfigurationError) -> String {
        guard let components = URLComponents(string: raw),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty, components.fragment == nil
        else {
            throw ConfigurationError(variable: "", reason: "")
        }
        return raw
    }

    /// Checks that links built from the base URL will be absolute http(s) URLs.
    static func publicBaseURL(_ raw: String) throws(ConfigurationError) -> String {
        guard let components = URLComponents(string: raw),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty,
            components.query == nil, components.fragment == nil, components.user == nil
        else {
            throw ConfigurationError(
                variable: "PUBLIC_BASE_URL",
                reason: "must be an absolute http(s) URL without query or fragment, got \"\(raw)\""
            )
        }
        var trimmed = raw
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed
    }
}
