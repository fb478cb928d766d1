import App
import Foundation
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing

@Suite("Health endpoints")
struct HealthTests {
    @Test("live and ready answer 200 when the database is migrated", arguments: Backend.allCases)
    func healthy(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let live = try await client.execute(uri: "/health/live", method: .get)
                #expect(live.status == .ok)
                #expect(live.json["status"] as? String == "ok")
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .ok)
                #expect(ready.json["status"] as? String == "ready")
            }
        }
    }

    @Test(
        "ready answers 503 problem when the schema is not current; live still answers 200",
        arguments: Backend.allCases
    )
    func schemaNotCurrent(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.execute("DELETE FROM schema_migrations")
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .serviceUnavailable)
                #expect(ready.headers[.contentType] == "application/problem+json")
                #expect(ready.json["code"] as? String == "not_ready")
                let live = try await client.execute(uri: "/health/live", method: .get)
                #expect(live.status == .ok)
            }
        }
    }

    @Test("PostgreSQL is not ready when nothing answers at its address")
    func unreachableDatabase() async throws {
        var settings = try TestDatabase.serverSettings()
        settings.port = 1  // nothing listens on port 1 of the loopback address
        var logger = Logger(label: "health-test")
        logger.logLevel = .critical
        let database = PostgresStorage(settings: settings, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            #expect(await database.isReady() == false)
            group.cancelAll()
        }
    }
}
