import Testing

@testable import App

@Suite("What a statement span is named: operation and table from the SQL text")
struct StatementSummaryTests {
    @Test(
        "plain statements: the first keyword and the first table",
        arguments: [
            ("SELECT id, email FROM users WHERE id = $1", "SELECT users", "users"),
            (
                "  select t.user_id FROM verification_tokens t JOIN users u ON u.id = t.user_id",
                "SELECT verification_tokens", "verification_tokens"
            ),
            (
                "INSERT INTO users (id) VALUES ($1) ON CONFLICT (email_normalized) DO UPDATE SET updated_at = users.updated_at RETURNING id",
                "INSERT users", "users"
            ),
            (
                "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1", "UPDATE refresh_tokens",
                "refresh_tokens"
            ),
            ("DELETE FROM sessions WHERE id = $1", "DELETE sessions", "sessions"),
            (
                "SELECT user_id FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", "SELECT refresh_tokens",
                "refresh_tokens"
            ),
            ("SELECT count(*) FROM (SELECT 1 FROM users) AS s", "SELECT users", "users"),
        ] as [(String, String, String?)])
    func plain(sql: String, name: String, table: String?) {
        let summary = StatementSummary(sql)
        #expect(summary.spanName == name)
        #expect(summary.table == table)
    }

    @Test("statements without a table are named by their keyword")
    func noTable() {
        for (sql, name) in [
            ("BEGIN IMMEDIATE", "BEGIN"), ("COMMIT", "COMMIT"), ("SELECT 1", "SELECT"), ("", "UNKNOWN"),
        ] {
            #expect(StatementSummary(sql).spanName == name)
            #expect(StatementSummary(sql).table == nil)
        }
    }

    @Test("a WITH statement is named by what its parts write")
    func withStatements() {
        let rotation = StatementSummary(HotSQL.RotateRefreshToken.sql)
        #expect(rotation.operation == "WITH")
        #expect(rotation.spanName == "WITH UPDATE refresh_tokens, INSERT refresh_tokens, UPDATE sessions")
        #expect(rotation.table == "refresh_tokens")
        let verification = StatementSummary(UseVerificationToken.sql)
        #expect(
            verification.spanName
                == "WITH UPDATE users, UPDATE verification_tokens, DELETE verification_tokens, INSERT audit_events")
        let reading = StatementSummary("WITH t AS (SELECT id FROM users FOR UPDATE OF u) SELECT * FROM t")
        #expect(reading.spanName == "WITH users")
    }
}
