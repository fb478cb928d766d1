/// Accounts, their tokens and the outbox writes that go with them.
public protocol AccountStore: Sendable {
    /// Runs `body` in one database transaction: committed when it returns, rolled back when it throws.
    func withTransaction<Result: Sendable>(
        _ body: (any AccountTransaction) async throws -> Result
    ) async throws -> Result
}
