import App
import ArgumentParser
import Hummingbird

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations, then serve HTTP and deliver queued email until SIGTERM or SIGINT."
    )

    func run() async throws {
        let configuration = loadConfiguration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        let app = buildApplication(configuration: configuration, logger: logger)
        logger.info(
            "starting",
            metadata: [
                "event": "server.starting", "host": "\(configuration.host)", "port": "\(configuration.port)",
                "database":
                    "postgres://\(configuration.postgres.host):\(configuration.postgres.port)/\(configuration.postgres.database)",
                "email_transport": "\(configuration.emailTransport.rawValue)",
            ]
        )
        do {
            try await app.runService()
        } catch {
            fail(describeStartupFailure(error))
        }
        logger.info("stopped", metadata: ["event": "server.stopped"])
    }
}
