import Foundation
import HummingbirdTesting
import Logging
import Testing

@testable import App

@Suite("The SQLite default")
struct PersistenceTests {
    @Test("a registration survives a restart: the link printed before it works after it")
    func survivesRestart() async throws {
        try await Backend.sqlite.withFreshDatabase { settings in
            let transport = CapturingEmailTransport()
            let configuration = AppConfiguration(
                database: settings,
                emailFrom: EmailAddress("no-reply@example.test")!,
                bcryptCost: 4
            )
            let logger = Logger(label: "persistence-test")
            let options = BuildOptions(transport: transport, runsOutboxWorker: true)

            let first = try await buildApplication(configuration: configuration, logger: logger, options: options)
            try await first.test(.live) { client in
                let response = try await client.register(email: "restart@example.com", password: "a good passphrase")
                #expect(response.status == .accepted)
                for _ in 0..<500 where transport.sent.isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let token = try #require(transport.sent.first.flatMap { verificationToken(in: $0.textBody) })

            let second = try await buildApplication(configuration: configuration, logger: logger, options: options)
            try await second.test(.live) { client in
                let response = try await client.verify(token: token)
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "verified")
            }
            #expect(transport.sent.count == 1)
        }
    }

    @Test("the database file and its folder are created on first start, readable by its owner only")
    func createsFileAndFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nested-\(UUID().uuidString)/deeper")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let path = folder.appendingPathComponent("registration.sqlite").path
        let storage = try await SQLiteStorage.open(path: path, logger: Logger(label: "persistence-test"))
        try await storage.migrate(logger: Logger(label: "persistence-test"))
        #expect(FileManager.default.fileExists(atPath: path))
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        await storage.close()
    }

    @Test("the connection is opened for a server: WAL journal, busy timeout, foreign keys")
    func pragmas() async throws {
        try await Backend.sqlite.withFreshDatabase { settings in
            guard case .sqlite(let path) = settings else { return }
            let storage = try await SQLiteStorage.open(path: path, logger: Logger(label: "persistence-test"))
            let values = try await storage.withConnection { connection in
                [
                    try await connection.query("PRAGMA journal_mode").first?.column("journal_mode")?.string,
                    try await connection.query("PRAGMA busy_timeout").first?.columns.first?.data.string,
                    try await connection.query("PRAGMA foreign_keys").first?.column("foreign_keys")?.string,
                ]
            }
            #expect(values == ["wal", "5000", "1"])
            await storage.close()
        }
    }

    @Test("a path that cannot be created is one clear start-up error naming DATABASE_URL")
    func unusablePath() async throws {
        let error = await #expect(throws: StartupError.self) {
            _ = try await SQLiteStorage.open(path: "/proc/registration/accounts.sqlite", logger: Logger(label: "test"))
        }
        #expect(error?.description.hasPrefix("DATABASE_URL: ") == true)
    }
}
