import Foundation
import SQLiteNIO

/// `AccountTransaction` on a SQLite connection inside `BEGIN IMMEDIATE … COMMIT`.
///
/// The write lock taken by `BEGIN IMMEDIATE` serialises whole transactions, which is what
/// `FOR UPDATE` row locks achieve on PostgreSQL.
struct SQLiteAccountTransaction: AccountTransaction {
    let connection: SQLiteConnection

    func claimAddress(_ account: NewAccount) async throws -> AccountClaim {
        let rows = try await connection.query(
            """
            INSERT INTO users (id, email, email_normalized, status, role, created_at, updated_at)
            VALUES (?, ?, ?, 'pending', 'user', ?, ?)
            ON CONFLICT (email_normalized) DO UPDATE SET updated_at = users.updated_at
            RETURNING id, status
            """,
            [
                SQLiteData(account.id), .text(account.email.value), .text(account.email.normalized),
                SQLiteData(account.createdAt), SQLiteData(account.createdAt),
            ]
        )
        guard let row = rows.first else { throw StorageError.corruptRow("users: upsert returned no row") }
        let id = try row.uuid("id")
        guard let status = AccountStatus(rawValue: try row.string("status")) else {
            throw StorageError.corruptRow("users.status")
        }
        return AccountClaim(id: id, status: status, created: id == account.id)
    }

    func insertVerificationToken(_ token: NewVerificationToken) async throws {
        _ = try await connection.query(
            """
            INSERT INTO verification_tokens (token_hash, user_id, password_hash, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?)
            """,
            [
                SQLiteData(token.tokenHash), SQLiteData(token.accountID), .text(token.passwordHash),
                SQLiteData(token.createdAt), SQLiteData(token.expiresAt),
            ]
        )
    }

    func enqueueEmail(_ email: OutboxEmail) async throws {
        _ = try await connection.query(
            """
            INSERT INTO email_outbox (id, kind, recipient, subject, text_body, html_body, next_attempt_at, request_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                SQLiteData(email.id), .text(email.kind), .text(email.recipient), .text(email.subject),
                .text(email.textBody), .text(email.htmlBody), SQLiteData(email.createdAt), SQLiteData(email.requestID),
                SQLiteData(email.createdAt),
            ]
        )
    }

    func lockVerificationToken(hash: Data) async throws -> VerificationTokenRecord? {
        let rows = try await connection.query(
            """
            SELECT t.user_id AS user_id, u.status AS status, t.password_hash AS password_hash,
                   t.expires_at AS expires_at, t.used_at AS used_at
            FROM verification_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = ?
            """,
            [SQLiteData(hash)]
        )
        guard let row = rows.first else { return nil }
        guard let status = AccountStatus(rawValue: try row.string("status")) else {
            throw StorageError.corruptRow("users.status")
        }
        return VerificationTokenRecord(
            accountID: try row.uuid("user_id"),
            accountStatus: status,
            passwordHash: row.column("password_hash")?.string,
            expiresAt: try row.date("expires_at"),
            usedAt: row.column("used_at")?.date
        )
    }

    func activateAccount(id: UUID, passwordHash: String, usingToken tokenHash: Data, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE users SET status = 'active', password_hash = ?, verified_at = ?, updated_at = ? WHERE id = ?",
            [.text(passwordHash), SQLiteData(date), SQLiteData(date), SQLiteData(id)]
        )
        _ = try await connection.query(
            "UPDATE verification_tokens SET used_at = ?, password_hash = NULL WHERE token_hash = ?",
            [SQLiteData(date), SQLiteData(tokenHash)]
        )
        _ = try await connection.query(
            "DELETE FROM verification_tokens WHERE user_id = ? AND token_hash <> ?",
            [SQLiteData(id), SQLiteData(tokenHash)]
        )
    }
}
