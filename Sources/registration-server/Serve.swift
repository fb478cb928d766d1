import App
import ArgumentParser
import Hummingbird
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations, then serve HTTP and deliver queued email until SIGTERM or SIGINT."
    )

    func run() async throws {
        let configuration = loadConfiguration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        logger.info(
            "starting",
            metadata: [
                "event": "server.starting", "app_env": "\(configuration.environment.rawValue)",
                "host": "\(configuration.host)", "port": "\(configuration.port)",
                "metrics": "\(configuration.metricsHost):\(configuration.metricsPort)",
                "database": "\(configuration.database.displayName)",
                "email_transport": "\(configuration.emailTransport.name)",
            ]
        )
        if configuration.databaseTLSDisabled {
            logger.warning(
                "DATABASE_TLS=disable: the database connection is not required to be encrypted",
                metadata: ["event": "db.tls_disabled"])
        }
        if configuration.environment == .development {
            printDevelopmentBanner(configuration)
        }
        do {
            let drain = ShutdownDrain()
            let app = try await buildApplication(
                configuration: configuration, logger: logger, options: BuildOptions(drain: drain, servesMetrics: true))
            // On SIGTERM the group stops its services last to first: the drain first (readiness
            // fails for SHUTDOWN_GRACE_SECONDS), then the application (server, worker, pool).
            let group = ServiceGroup(
                configuration: .init(
                    services: [app, DrainService(drain: drain, grace: configuration.shutdownGrace, logger: logger)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        } catch {
            fail(describeStartupFailure(error))
        }
        logger.info("stopped", metadata: ["event": "server.stopped"])
    }

    /// Tells a developer, in plain words, where everything is.
    private func printDevelopmentBanner(_ configuration: AppConfiguration) {
        let database: String
        switch configuration.database {
        case .sqlite(let path): database = "SQLite file \(path)"
        case .postgres: database = "PostgreSQL \(configuration.database.displayName)"
        }
        let emails: String
        switch configuration.emailTransport {
        case .console: emails = "printed to this console (EMAIL_TRANSPORT=console)"
        case .smtp(let smtp): emails = "sent through SMTP \(smtp.host):\(smtp.port) (\(smtp.security.rawValue))"
        case .ses(let ses): emails = "sent through Amazon SES (\(ses.region), \(ses.endpoint.absoluteString))"
        case .sendgrid(let sendgrid): emails = "sent through SendGrid (\(sendgrid.endpoint.absoluteString))"
        }
        // Through the same writer as the log lines, so the banner is not held in a stdio buffer.
        StandardOutputLogSink().write(
            line: """
                registration-server (APP_ENV=development)
                  listening on  http://\(configuration.host):\(configuration.port)
                  metrics on    http://\(configuration.metricsHost):\(configuration.metricsPort)/metrics
                  links point   \(configuration.publicBaseURL)
                  database      \(database)
                  emails        \(emails)
                """
        )
    }
}
