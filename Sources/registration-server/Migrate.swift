import App
import ArgumentParser

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations and exit.")

    func run() async throws {
        let configuration = loadConfiguration()
        let logger = bootstrapLogging(level: configuration.logLevel)
        do {
            try await migrateDatabase(configuration: configuration, logger: logger)
        } catch {
            fail(describeStartupFailure(error))
        }
    }
}
