import App
import Foundation
import Logging
import PostgresNIO
import Testing

/// A fresh PostgreSQL database per test, created on the server that `scripts/test` starts
/// and dropped afterwards, so tests run in parallel without seeing each other's rows.
enum TestDatabase {
    static let logger = Logger(label: "test-database")

    /// The server's URL from `TEST_DATABASE_URL`; tests fail (they are never skipped) without it.
    static func serverSettings() throws -> PostgresSettings {
        guard let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"] else {
            Issue.record("TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
            throw TestSetupError()
        }
        // Hundreds of test pools run at once; like the server's, they open connections on demand.
        return try PostgresSettings(url: url, maxConnections: 4, variable: "TEST_DATABASE_URL")
    }

    /// Creates an empty database, runs `body` with its settings, then drops it.
    static func withFresh<Result>(_ body: (PostgresSettings) async throws -> Result) async throws -> Result {
        let server = try serverSettings()
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin(server) { connection in
            // PostgreSQL 15's default strategy writes the whole template to the WAL; with
            // hundreds of databases made at once that WAL storm stalled every other test.
            // FILE_COPY (PostgreSQL 15+) copies the files instead; older servers lack it.
            do {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "CREATE DATABASE \(name) STRATEGY = FILE_COPY"), logger: logger)
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42601" {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
            }
        }
        var settings = server
        settings.database = name
        do {
            let result = try await body(settings)
            try await drop(name, on: server)
            return result
        } catch {
            try? await drop(name, on: server)
            throw error
        }
    }

    private static func drop(_ name: String, on server: PostgresSettings) async throws {
        try await admin(server) { connection in
            try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger)
        }
    }

    private static func admin(
        _ server: PostgresSettings, _ body: (PostgresConnection) async throws -> Void
    ) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(
                host: server.host,
                port: server.port,
                username: server.username,
                password: server.password,
                database: server.database,
                tls: .disable
            ),
            id: 1,
            logger: logger
        )
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }
}

struct TestSetupError: Error {}
