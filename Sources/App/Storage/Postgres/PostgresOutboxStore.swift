import Foundation
import Logging
import PostgresNIO

/// `OutboxStore` on PostgreSQL; `FOR UPDATE SKIP LOCKED` lets any number of workers share it.
struct PostgresOutboxStore: OutboxStore {
    let client: Traced<PostgresClient>
    let logger: Logger
    let calls: PostgresCalls

    func claimDueEmails(now: Date, limit: Int, leaseUntil: Date, claimToken: UUID) async throws -> [ClaimedEmail] {
        try await calls.run {
            let rows = try await client.query(
                """
                UPDATE email_outbox
                SET attempts = attempts + 1, next_attempt_at = \(leaseUntil), claim_token = \(claimToken)
                WHERE id IN (
                    SELECT id FROM email_outbox
                    WHERE status = 'pending' AND next_attempt_at <= \(now)
                    ORDER BY next_attempt_at
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id, kind, recipient, subject, coalesce(text_body, ''), coalesce(html_body, ''),
                          created_at, request_id, attempts, trace_parent
                """,
                logger: logger
            )
            var claimed: [ClaimedEmail] = []
            for try await row in rows.decode(
                (UUID, String, String, String, String, String, Date, String?, Int, String?).self)
            {
                let email = OutboxEmail(
                    id: row.0,
                    kind: row.1,
                    recipient: row.2,
                    subject: row.3,
                    textBody: row.4,
                    htmlBody: row.5,
                    createdAt: row.6,
                    requestID: row.7,
                    traceParent: row.9
                )
                claimed.append(ClaimedEmail(email: email, attempt: row.8))
            }
            return claimed.sorted { $0.email.createdAt < $1.email.createdAt }
        }
    }

    func renewClaims(ids: [UUID], claimToken: UUID, leaseUntil: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return try await calls.run {
            let rows = try await client.query(
                """
                UPDATE email_outbox SET next_attempt_at = \(leaseUntil)
                WHERE id = ANY(\(ids)) AND claim_token = \(claimToken) AND status = 'pending'
                RETURNING id
                """,
                logger: logger
            )
            var renewed = 0
            for try await _ in rows.decode(UUID.self) { renewed += 1 }
            return renewed
        }
    }

    func markSent(id: UUID, at date: Date) async throws {
        try await calls.run {
            try await client.query(
                """
                UPDATE email_outbox
                SET status = 'sent', sent_at = \(date), text_body = NULL, html_body = NULL, last_error = NULL,
                    claim_token = NULL
                WHERE id = \(id)
                """,
                logger: logger
            )
        }
    }

    func scheduleRetry(id: UUID, at date: Date, error: String, countsAsAttempt: Bool) async throws {
        let refund = countsAsAttempt ? 0 : 1
        try await calls.run {
            try await client.query(
                """
                UPDATE email_outbox SET next_attempt_at = \(date), last_error = \(error),
                    attempts = greatest(attempts - \(refund), 0), claim_token = NULL
                WHERE id = \(id) AND status = 'pending'
                """,
                logger: logger
            )
        }
    }

    func markFailed(id: UUID, at date: Date, error: String) async throws {
        try await calls.run {
            try await client.query(
                """
                UPDATE email_outbox
                SET status = 'failed', failed_at = \(date), last_error = \(error), text_body = NULL, html_body = NULL,
                    claim_token = NULL
                WHERE id = \(id) AND status = 'pending'
                """,
                logger: logger
            )
        }
    }

    func backlog() async throws -> (pending: Int, oldestCreatedAt: Date?) {
        try await calls.run {
            let rows = try await client.query(
                "SELECT count(*)::int, min(created_at) FROM email_outbox WHERE status = 'pending'",
                logger: logger
            )
            for try await (count, oldest) in rows.decode((Int, Date?).self) {
                return (count, oldest)
            }
            return (0, nil)
        }
    }

    func releaseClaim(id: UUID, now: Date) async throws {
        try await calls.run {
            try await client.query(
                """
                UPDATE email_outbox SET next_attempt_at = \(now), attempts = greatest(attempts - 1, 0), claim_token = NULL
                WHERE id = \(id) AND status = 'pending'
                """,
                logger: logger
            )
        }
    }
}
