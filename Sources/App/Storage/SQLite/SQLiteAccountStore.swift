/// `AccountStore` on the SQLite file.
struct SQLiteAccountStore: AccountStore {
    let storage: SQLiteStorage

    func withTransaction<Result: Sendable>(
        _ body: @escaping @Sendable (any AccountTransaction) async throws -> Result
    ) async throws -> Result {
        try await storage.withTransaction { connection in
            try await body(SQLiteAccountTransaction(connection: connection))
        }
    }
}
