import Logging
import PostgresNIO

/// What a connection and the pool both run: a statement, and a hot statement's rows.
protocol PostgresStatements: Sendable {
    func statementRows(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence
    func run<Statement: HotStatement>(
        _ statement: Statement.Type, _ bindings: PostgresBindings, logger: Logger
    ) async throws -> [PostgresRow]
}

extension PostgresConnection: PostgresStatements {
    func statementRows(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}

extension PostgresClient: PostgresStatements {
    func statementRows(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.query(query, logger: logger)
    }
}

extension Traced where Base: PostgresStatements {
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await DatabaseSpans.statement(query.sql, .postgresql) {
            try await base.statementRows(query, logger: logger)
        }
    }

    /// The rows of a hot statement, collected (they are few).
    func run<Statement: HotStatement>(
        _ statement: Statement.Type, _ bindings: PostgresBindings, logger: Logger
    ) async throws -> [PostgresRow] {
        try await DatabaseSpans.statement(Statement.sql, .postgresql) {
            try await base.run(statement, bindings, logger: logger)
        }
    }
}

extension Traced where Base == PostgresClient {
    func execute<Statement: PostgresPreparedStatement, Row>(
        _ statement: Statement, logger: Logger
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Row> where Row == Statement.Row {
        try await DatabaseSpans.statement(Statement.sql, .postgresql) {
            try await base.execute(statement, logger: logger)
        }
    }

    /// `body` on a pooled connection inside `BEGIN … COMMIT`, as a transaction span.
    func withTransaction<Result: Sendable>(
        logger: Logger, _ body: (Traced<PostgresConnection>) async throws -> Result
    ) async throws -> Result {
        try await DatabaseSpans.transaction(.postgresql) {
            try await base.withTransaction(logger: logger) { connection in
                try await body(Traced<PostgresConnection>(connection))
            }
        }
    }

    /// `body` on a pooled connection, outside a transaction.
    func withConnection<Result: Sendable>(
        _ body: (Traced<PostgresConnection>) async throws -> Result
    ) async throws -> Result {
        try await base.withConnection { connection in try await body(Traced<PostgresConnection>(connection)) }
    }
}
