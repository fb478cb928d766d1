import App
import Logging
import PostgresNIO
import Testing

@Suite("Schema migrations")
struct MigrationTests {
    @Test("instances starting at once apply each migration exactly once")
    func concurrentMigrations() async throws {
        try await TestDatabase.withFresh { settings in
            let logger = Logger(label: "migration-test")
            let databases = (0..<4).map { _ in PostgresStorage(settings: settings, logger: logger) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for database in databases { group.addTask { await database.client.run() } }
                try await withThrowingTaskGroup(of: Void.self) { migrations in
                    for database in databases { migrations.addTask { try await database.migrate(logger: logger) } }
                    try await migrations.waitForAll()
                }
                let rows = try await databases[0].client.query("SELECT count(*), max(version) FROM schema_migrations")
                for try await (count, version) in rows.decode((Int, Int).self) {
                    #expect(count == version)
                }
                #expect(await databases[0].isReady())
                group.cancelAll()
            }
        }
    }

    @Test("an empty database is not ready until migrated, and migrating twice changes nothing")
    func readinessFollowsMigrations() async throws {
        try await TestDatabase.withFresh { settings in
            let logger = Logger(label: "migration-test")
            let database = PostgresStorage(settings: settings, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                #expect(await database.isReady() == false)
                try await database.migrate(logger: logger)
                #expect(await database.isReady())
                try await database.migrate(logger: logger)
                #expect(await database.isReady())
                group.cancelAll()
            }
        }
    }

    @Test("a migration edited after it was applied stops start-up with a clear error")
    func editedMigrationDetected() async throws {
        try await TestDatabase.withFresh { settings in
            let logger = Logger(label: "migration-test")
            let database = PostgresStorage(settings: settings, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                try await database.migrate(logger: logger)
                try await database.client.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
                let error = await #expect(throws: MigrationError.self) { try await database.migrate(logger: logger) }
                #expect(error?.description.contains("migration 1") == true)
                group.cancelAll()
            }
        }
    }

    @Test("a database migrated by a newer build is refused")
    func unknownMigrationDetected() async throws {
        try await TestDatabase.withFresh { settings in
            let logger = Logger(label: "migration-test")
            let database = PostgresStorage(settings: settings, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await database.client.run() }
                try await database.migrate(logger: logger)
                try await database.client.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')"
                )
                await #expect(throws: MigrationError.self) { try await database.migrate(logger: logger) }
                #expect(await database.isReady() == false)
                group.cancelAll()
            }
        }
    }
}
