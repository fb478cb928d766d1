import Foundation

/// Which database holds the service's state, from `DATABASE_URL`.
public enum DatabaseSettings: Sendable, Equatable {
    /// PostgreSQL, for production and any number of instances.
    case postgres(PostgresSettings)
    /// An embedded SQLite file, the zero-setup default, for development and single-node use.
    case sqlite(path: String)

    /// Where the file goes when `DATABASE_URL` is unset, relative to the working directory.
    public static let defaultSQLitePath = "data/registration.sqlite"

    /// Parses `DATABASE_URL`: unset means the default SQLite file, `sqlite:PATH` another file,
    /// `postgres://…` PostgreSQL. Relative SQLite paths are resolved against `workingDirectory`.
    public init(url raw: String?, maxConnections: Int, workingDirectory: String) throws(ConfigurationError) {
        guard let raw else {
            self = .sqlite(path: Self.absolute(Self.defaultSQLitePath, in: workingDirectory))
            return
        }
        let lowered = raw.lowercased()
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") {
            self = .postgres(try PostgresSettings(url: raw, maxConnections: maxConnections))
        } else if lowered.hasPrefix("sqlite:") {
            var path = String(raw.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty, !path.hasSuffix("/") else {
                throw ConfigurationError(variable: "DATABASE_URL", reason: "sqlite: must be followed by a file path")
            }
            self = .sqlite(path: Self.absolute(path, in: workingDirectory))
        } else {
            throw ConfigurationError(
                variable: "DATABASE_URL",
                reason: "must start with postgres:// or sqlite: (or be unset for the default SQLite file)"
            )
        }
    }

    /// A description for logs, without credentials.
    public var displayName: String {
        switch self {
        case .postgres(let settings): "postgres://\(settings.host):\(settings.port)/\(settings.database)"
        case .sqlite(let path): "sqlite:\(path)"
        }
    }

    private static func absolute(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).standardized.path
    }
}
