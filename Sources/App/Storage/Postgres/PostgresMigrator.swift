import Logging
import PostgresNIO

/// Applies `PostgresMigrations` under an advisory lock, one transaction per migration.
///
/// The lock makes concurrent start-ups of several instances safe: one applies, the others
/// wait and then find nothing to do.
struct PostgresMigrator: Sendable {
    /// Arbitrary but fixed: identifies this service's migration lock within the database.
    static let advisoryLockKey: Int64 = 0x5265_6753_7276  // "RegSrv"

    let client: PostgresClient
    let migrations: [Migration]

    func migrate(logger: Logger) async throws {
        try await client.withConnection { connection in
            // Migrations may wait for each other and build indexes: not bound by the timeouts
            // meant for requests (DATABASE_STATEMENT_TIMEOUT_MS); start-up has its own deadline.
            let unbounded = ["statement_timeout", "idle_in_transaction_session_timeout"]
            for setting in unbounded {
                _ = try await connection.query(PostgresQuery(unsafeSQL: "SET \(setting) = 0"), logger: logger)
            }
            do {
                _ = try await connection.query("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger)
                do {
                    try await applyPending(on: connection, logger: logger)
                } catch {
                    _ = try? await connection.query(
                        "SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
                    throw error
                }
                _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger)
            } catch {
                for setting in unbounded {
                    _ = try? await connection.query(PostgresQuery(unsafeSQL: "RESET \(setting)"), logger: logger)
                }
                throw error
            }
            for setting in unbounded {
                _ = try await connection.query(PostgresQuery(unsafeSQL: "RESET \(setting)"), logger: logger)
            }
        }
    }

    private func applyPending(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var applied: [Int: String] = [:]
        let rows = try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger)
        for try await (version, checksum) in rows.decode((Int, String).self) {
            applied[version] = checksum
        }
        for migration in try Migration.pending(known: migrations, applied: applied) {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    """
                    INSERT INTO schema_migrations (version, name, checksum)
                    VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """,
                    logger: logger
                )
            }
            logger.info(
                "migration applied",
                metadata: ["event": "db.migrated", "version": "\(migration.version)", "name": "\(migration.name)"]
            )
        }
    }

    /// The highest applied version, or nil when the history table is missing.
    func appliedVersion(logger: Logger) async throws -> Int? {
        let rows = try await client.query(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            logger: logger
        )
        for try await version in rows.decode(Int.self) {
            return version
        }
        return nil
    }
}
