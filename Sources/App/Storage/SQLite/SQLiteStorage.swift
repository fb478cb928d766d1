import Foundation
import Logging
import NIOPosix
import SQLiteNIO
import ServiceLifecycle

/// The embedded SQLite database: one file, one connection per process, opened for a server.
///
/// - WAL journal, so readers in other processes (backups, `sqlite3`) do not block the server.
/// - `busy_timeout` of 5 s, so a second process waits for the write lock instead of failing.
/// - Foreign keys on (SQLite's default is off).
/// - One writer at a time: every transaction starts with `BEGIN IMMEDIATE` (taking the write
///   lock up front, so two transactions never deadlock upgrading a read lock), and within the
///   process an `AsyncLock` keeps statements of other requests off the connection meanwhile.
public final class SQLiteStorage: Database {
    public let path: String
    let connection: SQLiteConnection
    private let threadPool: NIOThreadPool
    private let lock = AsyncLock()
    private let logger: Logger

    public var accounts: any AccountStore { SQLiteAccountStore(storage: self) }
    public var outbox: any OutboxStore { SQLiteOutboxStore(storage: self) }
    public var rateLimits: any RateLimitStore { SQLiteRateLimitStore(storage: self) }
    public var service: (any Service)? { SQLiteCloser(storage: self) }

    /// Opens (creating it and its folder if needed) the database file at `path`.
    public static func open(path: String, logger: Logger) async throws -> SQLiteStorage {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw StartupError(description: "DATABASE_URL: cannot create the folder \(folder) for the SQLite database")
        }
        // Only the service's user may read the file: it holds password hashes. SQLite gives
        // its -wal and -shm files the same permissions.
        if !FileManager.default.fileExists(atPath: path) {
            // A failure here shows as SQLite failing to open the file, with its own clear error.
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        // A thread of its own: SQLite calls block (up to the busy timeout while another process
        // writes), and must neither wait behind password hashing on the shared pool nor starve it.
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path),
                threadPool: threadPool,
                logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any()
            )
        } catch {
            try? await threadPool.shutdownGracefully()
            throw StartupError(
                description: "DATABASE_URL: cannot open the SQLite database at \(path) (\(Self.reason(error)))")
        }
        do {
            for pragma in Self.pragmas {
                _ = try await connection.query(pragma)
            }
        } catch {
            try? await connection.close().get()
            try? await threadPool.shutdownGracefully()
            throw StartupError(
                description: "DATABASE_URL: cannot open the SQLite database at \(path) (\(Self.reason(error)))")
        }
        return SQLiteStorage(path: path, connection: connection, threadPool: threadPool, logger: logger)
    }

    /// The busy timeout comes first: switching to WAL needs a lock that another process
    /// starting at the same moment may hold.
    static let pragmas = [
        "PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = NORMAL",
    ]

    private init(path: String, connection: SQLiteConnection, threadPool: NIOThreadPool, logger: Logger) {
        self.path = path
        self.connection = connection
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Runs statements outside a transaction, with the connection to itself.
    func withConnection<Result>(_ body: (Traced<SQLiteConnection>) async throws -> Result) async throws -> Result {
        try await lock.withLock { try await body(Traced(connection)) }
    }

    /// Runs `body` in a write transaction: committed when it returns, rolled back when it throws.
    /// Its span includes the wait for the connection (one writer at a time).
    func withTransaction<Result>(_ body: (Traced<SQLiteConnection>) async throws -> Result) async throws -> Result {
        try await DatabaseSpans.transaction(.sqlite) {
            try await lock.withLock {
                let connection = Traced(connection)
                try await connection.query("BEGIN IMMEDIATE")
                do {
                    let result = try await body(connection)
                    try await connection.query("COMMIT")
                    return result
                } catch {
                    _ = try? await connection.query("ROLLBACK")
                    throw error
                }
            }
        }
    }

    /// Closes the connection and stops its thread. Works in a cancelled task too (the
    /// future-based close runs regardless), because a connection must always be closed.
    public func close() async {
        try? await connection.close().get()
        try? await threadPool.shutdownGracefully()
    }

    public func migrate(logger: Logger) async throws {
        // Instances starting together wait for each other's migrations, which hold the write
        // lock for longer than a request does: up to the start-up deadline (30 s), not the 5 s
        // of normal operation. (Seen: a loaded machine took over 5 s for four instances.)
        try await withConnection { _ = try await $0.query("PRAGMA busy_timeout = 30000") }
        do {
            try await applyMigrations(logger: logger)
        } catch {
            try? await withConnection { _ = try await $0.query(Self.pragmas[0]) }
            throw error
        }
        try await withConnection { _ = try await $0.query(Self.pragmas[0]) }
    }

    private func applyMigrations(logger: Logger) async throws {
        // In a write transaction from the start: as a plain statement it would read the schema
        // first and then fail at once (not wait) if another process created the table meanwhile.
        try await withTransaction { connection in
            _ = try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    checksum TEXT NOT NULL,
                    applied_at REAL NOT NULL
                )
                """
            )
        }
        // Each migration in its own IMMEDIATE transaction, re-reading the history inside it:
        // a second process starting at the same time waits, then finds nothing to do.
        while true {
            let applied = try await withTransaction { connection -> Migration? in
                var history: [Int: String] = [:]
                for row in try await connection.query("SELECT version, checksum FROM schema_migrations") {
                    history[try row.int("version")] = try row.string("checksum")
                }
                guard let next = try Migration.pending(known: SQLiteMigrations.all, applied: history).first else {
                    return nil
                }
                for statement in next.statements {
                    _ = try await connection.query(statement)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    [.integer(next.version), .text(next.name), .text(next.checksum), SQLiteData(Date())]
                )
                return next
            }
            guard let applied else { return }
            logger.info(
                "migration applied",
                metadata: ["event": "db.migrated", "version": "\(applied.version)", "name": "\(applied.name)"]
            )
        }
    }

    public func isReady() async -> Bool {
        let latest = SQLiteMigrations.all.map(\.version).max() ?? 0
        let version = try? await withConnection { connection in
            try await connection.query("SELECT coalesce(max(version), 0) AS version FROM schema_migrations")
                .first?.int("version")
        }
        return version == latest
    }

    private static func reason(_ error: any Error) -> String {
        (error as? SQLiteError)?.message ?? String(describing: type(of: error))
    }
}

/// Closes the SQLite connection once the service group shuts down, after the server and
/// the outbox worker (which stop first) no longer use it.
struct SQLiteCloser: Service {
    let storage: SQLiteStorage

    func run() async throws {
        try? await gracefulShutdown()
        await storage.close()
    }
}
