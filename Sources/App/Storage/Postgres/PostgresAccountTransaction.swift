import Foundation
import Logging
import PostgresNIO

/// `AccountTransaction` on a PostgreSQL connection that is inside `BEGIN … COMMIT`.
struct PostgresAccountTransaction: AccountTransaction {
    let connection: PostgresConnection
    let logger: Logger

    func claimAddress(_ account: NewAccount) async throws -> AccountClaim {
        // ON CONFLICT … DO UPDATE returns (and row-locks) the existing owner in the same
        // statement, so concurrent registrations of one address serialise on the row.
        let rows = try await connection.query(
            """
            INSERT INTO users (id, email, email_normalized, status, role, created_at, updated_at)
            VALUES (\(account.id), \(account.email.value), \(account.email.normalized), 'pending', 'user',
                    \(account.createdAt), \(account.createdAt))
            ON CONFLICT (email_normalized) DO UPDATE SET updated_at = users.updated_at
            RETURNING id, status
            """,
            logger: logger
        )
        for try await (id, status) in rows.decode((UUID, String).self) {
            guard let status = AccountStatus(rawValue: status) else {
                throw StorageError.corruptRow("users.status")
            }
            return AccountClaim(id: id, status: status, created: id == account.id)
        }
        throw StorageError.corruptRow("users: upsert returned no row")
    }

    func insertVerificationToken(_ token: NewVerificationToken) async throws {
        try await connection.query(
            """
            INSERT INTO verification_tokens (token_hash, user_id, password_hash, created_at, expires_at)
            VALUES (\(token.tokenHash), \(token.accountID), \(token.passwordHash), \(token.createdAt), \(token.expiresAt))
            """,
            logger: logger
        )
    }

    func enqueueEmail(_ email: OutboxEmail) async throws {
        try await connection.query(
            """
            INSERT INTO email_outbox (id, kind, recipient, subject, text_body, html_body, next_attempt_at, request_id, created_at)
            VALUES (\(email.id), \(email.kind), \(email.recipient), \(email.subject), \(email.textBody), \(email.htmlBody),
                    \(email.createdAt), \(email.requestID), \(email.createdAt))
            """,
            logger: logger
        )
    }

    func lockVerificationToken(hash: Data) async throws -> VerificationTokenRecord? {
        let rows = try await connection.query(
            """
            SELECT t.user_id, u.status, t.password_hash, t.expires_at, t.used_at
            FROM verification_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(hash)
            FOR UPDATE OF u
            """,
            logger: logger
        )
        for try await (id, status, passwordHash, expiresAt, usedAt) in rows.decode(
            (UUID, String, String?, Date, Date?).self)
        {
            guard let status = AccountStatus(rawValue: status) else {
                throw StorageError.corruptRow("users.status")
            }
            return VerificationTokenRecord(
                accountID: id,
                accountStatus: status,
                passwordHash: passwordHash,
                expiresAt: expiresAt,
                usedAt: usedAt
            )
        }
        return nil
    }

    func activateAccount(id: UUID, passwordHash: String, usingToken tokenHash: Data, at date: Date) async throws {
        try await connection.query(
            """
            UPDATE users SET status = 'active', password_hash = \(passwordHash), verified_at = \(date), updated_at = \(date)
            WHERE id = \(id)
            """,
            logger: logger
        )
        try await connection.query(
            "UPDATE verification_tokens SET used_at = \(date), password_hash = NULL WHERE token_hash = \(tokenHash)",
            logger: logger
        )
        try await connection.query(
            "DELETE FROM verification_tokens WHERE user_id = \(id) AND token_hash <> \(tokenHash)",
            logger: logger
        )
    }
}
