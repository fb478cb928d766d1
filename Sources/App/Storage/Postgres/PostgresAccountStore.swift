import Logging
import PostgresNIO

/// `AccountStore` on a PostgreSQL connection pool.
struct PostgresAccountStore: AccountStore {
    let client: PostgresClient
    let logger: Logger
    let usage: ConnectionUsage

    func withTransaction<Result: Sendable>(
        _ body: (any AccountTransaction) async throws -> Result
    ) async throws -> Result {
        do {
            return try await usage.lease {
                try await client.withTransaction(logger: logger) { connection in
                    try await body(PostgresAccountTransaction(connection: connection, logger: logger))
                }
            }
        } catch let error as PostgresTransactionError {
            // Surface the caller's own error (e.g. a domain error) rather than the wrapper.
            throw error.closureError ?? error
        }
    }
}
