import Foundation
import Logging
import Testing

@testable import App

@Suite("Schema migrations")
struct MigrationTests {
    private let logger = Logger(label: "migration-test")

    /// Opens `count` independent handles on one fresh database (pools or SQLite connections,
    /// as separate instances would have) with their services running.
    private func withHandles(
        _ backend: Backend,
        count: Int = 1,
        _ body: ([any Database]) async throws -> Void
    ) async throws {
        try await backend.withFreshDatabase { settings in
            var databases: [any Database] = []
            for _ in 0..<count { databases.append(try await openDatabase(settings, logger: logger)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for database in databases {
                    if let service = database.service { group.addTask { try await service.run() } }
                }
                defer { group.cancelAll() }
                try await body(databases)
            }
        }
    }

    private func execute(_ sql: String, on database: any Database) async throws {
        switch database {
        case let postgres as PostgresStorage: try await postgres.client.query(.init(unsafeSQL: sql), logger: logger)
        case let sqlite as SQLiteStorage: try await sqlite.withConnection { _ = try await $0.query(sql) }
        default: Issue.record("unknown database")
        }
    }

    @Test("instances starting at once apply each migration exactly once", arguments: Backend.allCases)
    func concurrentMigrations(backend: Backend) async throws {
        try await withHandles(backend, count: 4) { databases in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for database in databases { group.addTask { try await database.migrate(logger: logger) } }
                try await group.waitForAll()
            }
            for database in databases { #expect(await database.isReady()) }
            // Every migrate() returned without error: a second application of version 1 would
            // have failed on CREATE TABLE users.
        }
    }

    @Test(
        "an empty database is not ready until migrated, and migrating twice changes nothing",
        arguments: Backend.allCases
    )
    func readinessFollowsMigrations(backend: Backend) async throws {
        try await withHandles(backend) { databases in
            let database = databases[0]
            #expect(await database.isReady() == false)
            try await database.migrate(logger: logger)
            #expect(await database.isReady())
            try await database.migrate(logger: logger)
            #expect(await database.isReady())
        }
    }

    @Test("a migration edited after it was applied stops start-up with a clear error", arguments: Backend.allCases)
    func editedMigrationDetected(backend: Backend) async throws {
        try await withHandles(backend) { databases in
            let database = databases[0]
            try await database.migrate(logger: logger)
            try await execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1", on: database)
            let error = await #expect(throws: MigrationError.self) { try await database.migrate(logger: logger) }
            #expect(error?.description.contains("migration 1") == true)
        }
    }

    @Test("a database migrated by a newer build is refused", arguments: Backend.allCases)
    func unknownMigrationDetected(backend: Backend) async throws {
        try await withHandles(backend) { databases in
            let database = databases[0]
            try await database.migrate(logger: logger)
            try await execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', \(backend == .postgres ? "now()" : "0"))",
                on: database
            )
            await #expect(throws: MigrationError.self) { try await database.migrate(logger: logger) }
            #expect(await database.isReady() == false)
        }
    }

    @Test("both dialects define the same migration versions and names")
    func dialectsInStep() {
        #expect(PostgresMigrations.all.map(\.version) == SQLiteMigrations.all.map(\.version))
        #expect(PostgresMigrations.all.map(\.name) == SQLiteMigrations.all.map(\.name))
    }
}
