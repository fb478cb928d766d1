import App
import Foundation
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing

@testable import App

/// PostgreSQL slower than the configured bounds, or gone: a 503 with Retry-After within the
/// bound, nothing half-written, and the SQLSTATE in the log.
@Suite("Database faults")
struct DatabaseFaultTests {
    @Test("a statement over DATABASE_STATEMENT_TIMEOUT_MS: 503 with Retry-After, nothing written, SQLSTATE logged")
    func statementTimeout() async throws {
        try await TestEnvironment.with(
            .postgres,
            configure: { configuration in
                guard case .postgres(var postgres) = configuration.database else { return }
                // One second: the session's idle-in-transaction limit (twice this) then cannot end
                // it first, between two statements, on a loaded machine.
                postgres.statementTimeout = .seconds(1)
                // Only the server's bound may fire here, however loaded the machine is.
                postgres.timeout = .seconds(60)
                configuration.database = .postgres(postgres)
            }
        ) { env in
            try await env.withApp { client in
                try await env.execute(
                    """
                    CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN PERFORM pg_sleep(3); RETURN NEW; END $$
                    """)
                try await env.execute(
                    "CREATE TRIGGER slow_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION slow_insert()")
                let response = try await client.register(email: "slow@example.com", password: "a good passphrase")
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                #expect(String(buffer: response.body).contains(#""code":"database_unavailable""#))
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
                #expect(try await env.count("SELECT count(*) FROM email_outbox") == 0)
                #expect(
                    env.logs.lines.contains {
                        $0.contains(#""event":"db.unavailable""#) && $0.contains(#""sqlstate":"57014""#)
                    })
            }
        }
    }

    @Test("a transaction stuck behind a lock past DATABASE_TIMEOUT_MS: 503 at once, rolled back when the lock goes")
    func clientDeadline() async throws {
        try await TestEnvironment.with(
            .postgres,
            configure: { configuration in
                guard case .postgres(var postgres) = configuration.database else { return }
                postgres.statementTimeout = .seconds(30)
                postgres.timeout = .milliseconds(500)
                configuration.database = .postgres(postgres)
            }
        ) { env in
            try await env.withApp { client in
                guard let postgres = env.database as? PostgresStorage else { return }
                let locked = AsyncGate()
                let release = AsyncGate()
                let holder = Task {
                    try await postgres.client.withTransaction(logger: env.logger) { connection in
                        try await connection.query("LOCK TABLE users IN ACCESS EXCLUSIVE MODE", logger: env.logger)
                        await locked.open()
                        await release.wait()
                    }
                }
                await locked.wait()
                let response = try await client.register(email: "stuck@example.com", password: "a good passphrase")
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "2")
                await release.open()
                try await holder.value
                // The abandoned transaction resumes now; it must roll back, not commit.
                let busy = """
                    SELECT count(*) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
                    """
                for _ in 0..<250 where try await env.count(busy) > 0 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(
                    try await env.count("SELECT count(*) FROM users WHERE email_normalized = 'stuck@example.com'") == 0)
                #expect(try await env.count("SELECT count(*) FROM email_outbox") == 0)
            }
        }
    }

    @Test("an unreachable database: each store call fails as DatabaseUnavailable within DATABASE_TIMEOUT_MS")
    func unreachable() async throws {
        var settings = try PostgresSettings(
            url: "postgres://nobody@127.0.0.1:1/none?sslmode=disable", maxConnections: 2)
        settings.timeout = .milliseconds(500)
        let storage = PostgresStorage(settings: settings, logger: Logger(label: "test"))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await storage.client.run() }
            defer { group.cancelAll() }
            do {
                _ = try await storage.rateLimits.hit(bucket: "x", windowStart: Date())
                Issue.record("a store call succeeded without a database")
            } catch {
                #expect(error is DatabaseUnavailable, "\(error)")
            }
        }
    }
}
