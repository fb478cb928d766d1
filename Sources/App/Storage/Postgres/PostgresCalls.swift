import PostgresNIO

/// Every PostgreSQL call of the stores goes through here: counted for the
/// `db_connections_in_use` gauge, bounded by `DATABASE_TIMEOUT_MS` (waiting for a connection
/// included), and its failures sorted: what a retry can fix becomes `DatabaseUnavailable`.
struct PostgresCalls: Sendable {
    let usage: ConnectionUsage
    let timeout: Duration

    @discardableResult
    func run<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        try await usage.lease {
            do {
                return try await withDeadline(timeout, body)
            } catch is TimeoutError {
                throw DatabaseUnavailable(reason: "no answer within DATABASE_TIMEOUT_MS (\(timeout))")
            } catch {
                throw Self.unavailable(error) ?? error
            }
        }
    }

    /// SQLSTATE classes and codes that mean "the database cannot serve now, try again":
    /// connection exceptions, operator intervention (shutdown, restart, statement timeout),
    /// a session ended for idling (in a transaction, or at all), insufficient resources, and
    /// serialization failures or deadlocks.
    static let retryableStates: Set<String> = [
        "57P01", "57P02", "57P03", "57P05", "57014", "25P03", "40001", "40P01", "53300",
    ]

    /// The failure as `DatabaseUnavailable` when waiting and retrying can fix it; nil otherwise.
    static func unavailable(_ error: any Error) -> DatabaseUnavailable? {
        switch error {
        case let error as DatabaseUnavailable:
            return error
        case let error as PSQLError:
            let state = error.serverInfo?[.sqlState]
            if let state, retryableStates.contains(state) || state.hasPrefix("08") || state.hasPrefix("53") {
                return DatabaseUnavailable(reason: "server error", sqlState: state)
            }
            let connectionCodes: [PSQLError.Code] = [
                .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed,
                .queryCancelled,
            ]
            if connectionCodes.contains(error.code) { return DatabaseUnavailable(reason: "\(error.code)") }
            return nil
        case let error as PostgresTransactionError:
            for inner in [error.beginError, error.closureError, error.commitError].compactMap({ $0 }) {
                if let unavailable = unavailable(inner) { return unavailable }
            }
            return nil
        default:
            // The pool gave up connecting for a while (its circuit breaker); not public API.
            if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") {
                return DatabaseUnavailable(reason: "connection pool: \(error)")
            }
            return nil
        }
    }

    /// The SQLSTATE and code of a PostgreSQL error that is not one of ours, for the log line of a 500.
    static func diagnosis(_ error: any Error) -> String? {
        switch error {
        case let error as PSQLError:
            return "\(error.code)" + (error.serverInfo?[.sqlState].map { " SQLSTATE \($0)" } ?? "")
        case let error as PostgresTransactionError:
            return [error.beginError, error.closureError, error.commitError].compactMap { $0 }.compactMap(diagnosis)
                .first
        default:
            return nil
        }
    }
}
