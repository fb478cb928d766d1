import SQLiteNIO

extension Traced where Base == SQLiteConnection {
    /// The rows of one statement.
    @discardableResult
    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await DatabaseSpans.statement(sql, .sqlite) { try await base.query(sql, binds) }
    }
}
