import Foundation
import SQLiteNIO

/// `OutboxStore` on the SQLite file.
///
/// Claiming is one `UPDATE … RETURNING` inside a write transaction, so even several
/// processes on one file never claim the same email while its lease runs.
struct SQLiteOutboxStore: OutboxStore {
    let storage: SQLiteStorage

    func claimDueEmails(now: Date, limit: Int, leaseUntil: Date, claimToken: UUID) async throws -> [ClaimedEmail] {
        let rows = try await storage.withTransaction { connection in
            try await connection.query(
                """
                UPDATE email_outbox SET attempts = attempts + 1, next_attempt_at = ?, claim_token = ?
                WHERE id IN (
                    SELECT id FROM email_outbox
                    WHERE status = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at
                    LIMIT ?
                )
                RETURNING id, kind, recipient, subject, coalesce(text_body, '') AS text_body,
                          coalesce(html_body, '') AS html_body, created_at, request_id, attempts,
                          trace_parent
                """,
                [SQLiteData(leaseUntil), SQLiteData(claimToken), SQLiteData(now), .integer(limit)]
            )
        }
        return try rows.map { row in
            ClaimedEmail(
                email: OutboxEmail(
                    id: try row.uuid("id"),
                    kind: try row.string("kind"),
                    recipient: try row.string("recipient"),
                    subject: try row.string("subject"),
                    textBody: try row.string("text_body"),
                    htmlBody: try row.string("html_body"),
                    createdAt: try row.date("created_at"),
                    requestID: row.column("request_id")?.string,
                    traceParent: row.column("trace_parent")?.string
                ),
                attempt: try row.int("attempts")
            )
        }
        .sorted { $0.email.createdAt < $1.email.createdAt }
    }

    func renewClaims(ids: [UUID], claimToken: UUID, leaseUntil: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let list = "[" + ids.map { "\"\($0.lowercased)\"" }.joined(separator: ",") + "]"
        return try await storage.withConnection { connection in
            try await connection.query(
                """
                UPDATE email_outbox SET next_attempt_at = ?
                WHERE id IN (SELECT value FROM json_each(?)) AND claim_token = ? AND status = 'pending'
                RETURNING id
                """,
                [SQLiteData(leaseUntil), .text(list), SQLiteData(claimToken)]
            ).count
        }
    }

    func markSent(id: UUID, at date: Date) async throws {
        try await execute(
            """
            UPDATE email_outbox
            SET status = 'sent', sent_at = ?, text_body = NULL, html_body = NULL, last_error = NULL, claim_token = NULL
            WHERE id = ?
            """,
            [SQLiteData(date), SQLiteData(id)]
        )
    }

    func scheduleRetry(id: UUID, at date: Date, error: String, countsAsAttempt: Bool) async throws {
        try await execute(
            """
            UPDATE email_outbox
            SET next_attempt_at = ?, last_error = ?, attempts = max(attempts - ?, 0), claim_token = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [SQLiteData(date), .text(error), .integer(countsAsAttempt ? 0 : 1), SQLiteData(id)]
        )
    }

    func markFailed(id: UUID, at date: Date, error: String) async throws {
        try await execute(
            """
            UPDATE email_outbox
            SET status = 'failed', failed_at = ?, last_error = ?, text_body = NULL, html_body = NULL, claim_token = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [SQLiteData(date), .text(error), SQLiteData(id)]
        )
    }

    func backlog() async throws -> (pending: Int, oldestCreatedAt: Date?) {
        try await storage.withConnection { connection in
            let rows = try await connection.query(
                "SELECT count(*) AS pending, min(created_at) AS oldest FROM email_outbox WHERE status = 'pending'"
            )
            return (try rows.first?.int("pending") ?? 0, rows.first?.column("oldest")?.date)
        }
    }

    func releaseClaim(id: UUID, now: Date) async throws {
        try await execute(
            """
            UPDATE email_outbox SET next_attempt_at = ?, attempts = max(attempts - 1, 0), claim_token = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [SQLiteData(now), SQLiteData(id)]
        )
    }

    private func execute(_ sql: String, _ binds: [SQLiteData]) async throws {
        try await storage.withConnection { connection in
            _ = try await connection.query(sql, binds)
        }
    }
}
