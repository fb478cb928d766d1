import App
import ArgumentParser
import Foundation
import Logging

@main
struct RegistrationServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registration-server",
        abstract: "User registration and email verification service.",
        discussion: "Every setting comes from environment variables; see the README.",
        subcommands: [Serve.self, Migrate.self, Users.self, HashCost.self, HealthCheck.self],
        defaultSubcommand: Serve.self
    )
}

/// Reads the configuration or ends the process with one line naming the bad variable.
func loadConfiguration() -> AppConfiguration {
    do {
        return try AppConfiguration(environment: ProcessInfo.processInfo.environment)
    } catch {
        fail("configuration error: \(error)")
    }
}

/// Logging may be bootstrapped once per process: here, never in the library.
func bootstrapLogging(level: Logger.Level) -> Logger {
    LoggingSystem.bootstrap(
        { label, provider in
            var handler = JSONLogHandler(label: label, level: level)
            handler.metadataProvider = provider
            return handler
        }, metadataProvider: TracingBackend.logMetadata)
    var logger = Logger(label: "registration-server")
    logger.logLevel = level
    return logger
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("registration-server: \(message)\n".utf8))
    exit(1)
}

/// Describes a start-up failure in one line, without internals such as SQL.
func describeStartupFailure(_ error: any Error) -> String {
    switch error {
    case let error as StartupError: error.description
    case let error as MigrationError: error.description
    default: "start-up failed (\(String(reflecting: type(of: error))))"
    }
}
