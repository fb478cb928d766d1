import Foundation

/// Connection settings for PostgreSQL, parsed from a `postgres://` URL.
///
/// Accepts the libpq URL form `postgres://user:password@host:port/database?sslmode=...`.
/// `sslmode` is `disable`, `prefer` (the default, as in libpq) or `require`; `require`
/// also verifies the server certificate against the system trust store, so libpq's
/// `verify-full` (and `verify-ca`) are accepted as its synonyms.
public struct PostgresSettings: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable
        case prefer
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// Upper bound of the connection pool; connections are opened on demand (see `PostgresStorage`).
    public var maxConnections: Int
    /// Longest one database call may take, waiting for a connection included (client side).
    public var timeout: Duration = .seconds(6)
    /// PostgreSQL's `statement_timeout` for the service's sessions (server side); a little under
    /// `timeout`, so the server normally cancels first and the connection stays usable.
    public var statementTimeout: Duration = .seconds(5)

    public init(
        host: String,
        port: Int,
        username: String,
        password: String?,
        database: String,
        tlsMode: TLSMode,
        maxConnections: Int
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.maxConnections = maxConnections
    }

    /// Parses a PostgreSQL URL. Errors name `variable` and never echo the password.
    public init(url raw: String, maxConnections: Int, variable: String = "DATABASE_URL") throws(ConfigurationError) {
        guard let components = URLComponents(string: raw),
            let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw ConfigurationError(
                variable: variable,
                reason: "must be a URL of the form postgres://user:password@host:port/database"
            )
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError(variable: variable, reason: "has no host")
        }
        guard let username = components.user, !username.isEmpty else {
            throw ConfigurationError(variable: variable, reason: "has no user name")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !database.isEmpty, !database.contains("/") else {
            throw ConfigurationError(variable: variable, reason: "has no database name in its path")
        }
        var tlsMode = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                // libpq's verify-ca and verify-full: what `require` does here anyway.
                let aliases = ["verify-full": TLSMode.require, "verify-ca": .require]
                guard let raw = item.value?.lowercased(), let value = TLSMode(rawValue: raw) ?? aliases[raw] else {
                    throw ConfigurationError(
                        variable: variable, reason: "sslmode must be disable, prefer, require or verify-full")
                }
                tlsMode = value
            default:
                throw ConfigurationError(variable: variable, reason: "has an unsupported parameter \"\(item.name)\"")
            }
        }
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: username.removingPercentEncoding ?? username,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database.removingPercentEncoding ?? database,
            tlsMode: tlsMode,
            maxConnections: maxConnections
        )
    }
}
