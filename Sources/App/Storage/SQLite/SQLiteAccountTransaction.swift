import Foundation
import SQLiteNIO

/// `AccountTransaction` on a SQLite connection inside `BEGIN IMMEDIATE … COMMIT`.
///
/// The write lock taken by `BEGIN IMMEDIATE` serialises whole transactions, which is what
/// `FOR UPDATE` row locks achieve on PostgreSQL.
struct SQLiteAccountTransaction: AccountTransaction {
    let connection: Traced<SQLiteConnection>

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
        try await email.enqueued {
            try await connection.query(
                """
                INSERT INTO email_outbox
                    (id, kind, recipient, subject, text_body, html_body, next_attempt_at, request_id, created_at, trace_parent)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    SQLiteData(email.id), .text(email.kind), .text(email.recipient), .text(email.subject),
                    .text(email.textBody), .text(email.htmlBody), SQLiteData(email.createdAt),
                    SQLiteData(email.requestID), SQLiteData(email.createdAt), SQLiteData(email.traceParent),
                ]
            )
        }
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

    func latestVerificationToken(accountID: UUID) async throws -> (passwordHash: String, createdAt: Date)? {
        let rows = try await connection.query(
            """
            SELECT password_hash, created_at FROM verification_tokens
            WHERE user_id = ? AND password_hash IS NOT NULL
            ORDER BY created_at DESC LIMIT 1
            """,
            [SQLiteData(accountID)]
        )
        guard let row = rows.first else { return nil }
        return (passwordHash: try row.string("password_hash"), createdAt: try row.date("created_at"))
    }

    func hasRivalRegistration(accountID: UUID, passwordHash: String, at now: Date) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM verification_tokens
                WHERE user_id = ? AND used_at IS NULL AND expires_at > ? AND password_hash <> ?
            ) AS rival
            """,
            [SQLiteData(accountID), SQLiteData(now), .text(passwordHash)]
        )
        return try rows.first?.int("rival") == 1
    }

    private static let accountColumns = LifecycleSQL.accountColumns

    private func accounts(_ rows: [SQLiteRow]) throws -> [AccountRecord] {
        try rows.map { row in
            guard let status = AccountStatus(rawValue: try row.string("status")),
                let role = Role(rawValue: try row.string("role"))
            else {
                throw StorageError.corruptRow("users.status or users.role")
            }
            return AccountRecord(
                id: try row.uuid("id"),
                email: try row.string("email"),
                status: status,
                role: role,
                passwordHash: row.column("password_hash")?.string,
                createdAt: try row.date("created_at"),
                verifiedAt: row.column("verified_at")?.date,
                sessionEpoch: try row.int("session_epoch"),
                disabledAt: row.column("disabled_at")?.date
            )
        }
    }

    /// A statement written once for both databases: its `$n` parameters as SQLite's `?n`.
    private func shared(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        try await connection.query(sql.replacingOccurrences(of: "$", with: "?"), binds)
    }

    func lockAccount(normalizedEmail: String) async throws -> AccountRecord? {
        try accounts(
            await connection.query(
                "SELECT \(Self.accountColumns) FROM users WHERE email_normalized = ?",
                [.text(normalizedEmail)]
            )
        ).first
    }

    func account(id: UUID) async throws -> AccountRecord? {
        try accounts(
            await connection.query("SELECT \(Self.accountColumns) FROM users WHERE id = ?", [SQLiteData(id)])
        ).first
    }

    /// `BEGIN IMMEDIATE` already serialises the transaction with any password change.
    func accountForSession(id: UUID) async throws -> AccountRecord? {
        try await account(id: id)
    }

    func updatePasswordHash(accountID: UUID, passwordHash: String, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
            [.text(passwordHash), SQLiteData(date), SQLiteData(accountID)]
        )
    }

    func deleteAccount(id: UUID) async throws -> Bool {
        try await connection.query("DELETE FROM users WHERE id = ? RETURNING id", [SQLiteData(id)]).count == 1
    }

    func setRole(normalizedEmail: String, role: Role, at date: Date) async throws -> UUID? {
        let rows = try await connection.query(
            "UPDATE users SET role = ?, updated_at = ? WHERE email_normalized = ? RETURNING id",
            [.text(role.rawValue), SQLiteData(date), .text(normalizedEmail)]
        )
        return try rows.first?.uuid("id")
    }

    private func filterBinds(_ filter: AccountFilter) -> [SQLiteData] {
        [.text(filter.status?.rawValue ?? ""), .text(filter.likePattern)]
    }

    func listAccounts(
        _ filter: AccountFilter, after cursor: AccountCursor?, limit: Int
    ) async throws
        -> [AccountRecord]
    {
        try accounts(
            await shared(
                LifecycleSQL.listAccounts,
                filterBinds(filter) + [
                    SQLiteData((cursor ?? .start).createdAt), SQLiteData((cursor ?? .start).id), .integer(limit),
                ]))
    }

    func countAccounts(_ filter: AccountFilter) async throws -> Int {
        try await shared(LifecycleSQL.countAccounts, filterBinds(filter)).first?.int("count") ?? 0
    }

    func setDisabled(accountID: UUID, disabled: Bool, at now: Date) async throws -> Bool {
        try await shared(
            disabled ? LifecycleSQL.disable : LifecycleSQL.enable, [SQLiteData(accountID), SQLiteData(now)]
        )
        .count == 1
    }

    /// One writer at a time (`BEGIN IMMEDIATE`): nobody can take the address between the check
    /// and the update.
    func changeEmail(accountID: UUID, to email: EmailAddress, at now: Date) async throws {
        let owner = try await connection.query(
            "SELECT id FROM users WHERE email_normalized = ? AND id <> ?",
            [.text(email.normalized), SQLiteData(accountID)])
        guard owner.isEmpty else { throw AddressTaken() }
        _ = try await shared(
            LifecycleSQL.changeEmail,
            [SQLiteData(accountID), .text(email.value), .text(email.normalized), SQLiteData(now)])
    }

    func insertTombstone(accountID: UUID, createdAt: Date, deletedAt: Date, deletedBy: AuditActor) async throws {
        _ = try await shared(
            LifecycleSQL.insertTombstone,
            [SQLiteData(accountID), SQLiteData(createdAt), SQLiteData(deletedAt), .text(deletedBy.stored)])
    }

    // MARK: Sessions

    func insertSession(_ session: SessionRecord) async throws {
        _ = try await shared(
            LifecycleSQL.insertSession,
            [
                SQLiteData(session.id), SQLiteData(session.accountID), SQLiteData(session.createdAt),
                SQLiteData(session.expiresAt), SQLiteData(session.clientIP), SQLiteData(session.userAgent),
            ])
    }

    func touchSession(id: UUID, at date: Date, expiresAt: Date) async throws {
        _ = try await shared(LifecycleSQL.touchSession, [SQLiteData(id), SQLiteData(date), SQLiteData(expiresAt)])
    }

    func liveSessions(accountID: UUID, at now: Date) async throws -> [SessionRecord] {
        try await shared(LifecycleSQL.liveSessions, [SQLiteData(accountID), SQLiteData(now)]).map { row in
            SessionRecord(
                id: try row.uuid("id"), accountID: try row.uuid("user_id"), createdAt: try row.date("created_at"),
                lastUsedAt: try row.date("last_used_at"), expiresAt: try row.date("expires_at"),
                clientIP: row.column("client_ip")?.string, userAgent: row.column("user_agent")?.string)
        }
    }

    func endSession(id: UUID, accountID: UUID, at now: Date) async throws -> Bool {
        let ended = try await shared(LifecycleSQL.endSession, [SQLiteData(id), SQLiteData(accountID), SQLiteData(now)])
        guard ended.count == 1 else { return false }
        _ = try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND user_id = ? AND revoked_at IS NULL",
            [SQLiteData(now), SQLiteData(id), SQLiteData(accountID)])
        return true
    }

    // MARK: Email change tokens

    func deleteUnusedEmailChangeTokens(accountID: UUID) async throws {
        _ = try await shared(LifecycleSQL.deleteUnusedEmailChangeTokens, [SQLiteData(accountID)])
    }

    func insertEmailChangeToken(_ token: NewEmailChangeToken) async throws {
        _ = try await shared(
            LifecycleSQL.insertEmailChangeToken,
            [
                SQLiteData(token.tokenHash), SQLiteData(token.accountID), .text(token.oldNormalizedEmail),
                .text(token.newEmail.value), .text(token.newEmail.normalized), SQLiteData(token.createdAt),
                SQLiteData(token.expiresAt),
            ])
    }

    func lockEmailChangeToken(hash: Data) async throws -> EmailChangeTokenRecord? {
        let rows = try await connection.query(
            """
            SELECT user_id, old_email_normalized, new_email, new_email_normalized, expires_at, used_at
            FROM email_change_tokens WHERE token_hash = ?
            """,
            [SQLiteData(hash)])
        guard let row = rows.first else { return nil }
        return EmailChangeTokenRecord(
            accountID: try row.uuid("user_id"), oldNormalizedEmail: try row.string("old_email_normalized"),
            newEmail: try row.string("new_email"), newNormalizedEmail: try row.string("new_email_normalized"),
            expiresAt: try row.date("expires_at"), usedAt: row.column("used_at")?.date)
    }

    func markEmailChangeTokenUsed(hash: Data, at date: Date) async throws {
        _ = try await shared(LifecycleSQL.markEmailChangeTokenUsed, [SQLiteData(hash), SQLiteData(date)])
    }

    // MARK: Audit trail

    func recordAudit(_ event: AuditEvent) async throws {
        _ = try await shared(
            LifecycleSQL.recordAudit,
            [
                SQLiteData(event.occurredAt), .text(event.kind.rawValue), SQLiteData(event.accountID),
                .text(event.actor.stored), SQLiteData(event.origin?.clientIP), SQLiteData(event.origin?.userAgent),
                SQLiteData(event.origin?.requestID), SQLiteData(event.storedDetail),
            ])
    }

    func auditEvents(accountID: UUID?, before: Int64?, limit: Int) async throws -> [AuditEventRecord] {
        try await shared(
            LifecycleSQL.auditEvents,
            [
                SQLiteData(accountID ?? AccountCursor.start.id), .integer(Int(before ?? Int64.max)), .integer(limit),
                .integer(accountID == nil ? 0 : 1),
            ]
        ).map { row in
            AuditEventRecord(
                id: Int64(try row.int("id")), event: try row.string("event"), accountID: row.column("user_id")?.uuid,
                actor: try row.string("actor"), occurredAt: try row.date("occurred_at"),
                clientIP: row.column("client_ip")?.string, userAgent: row.column("user_agent")?.string,
                requestID: row.column("request_id")?.string, detail: row.column("detail")?.string)
        }
    }

    func insertRefreshToken(_ token: NewRefreshToken) async throws {
        _ = try await connection.query(
            """
            INSERT INTO refresh_tokens
                (token_hash, user_id, family_id, created_at, expires_at, session_epoch, family_created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                SQLiteData(token.tokenHash), SQLiteData(token.accountID), SQLiteData(token.familyID),
                SQLiteData(token.createdAt), SQLiteData(token.expiresAt), .integer(token.sessionEpoch),
                SQLiteData(token.familyCreatedAt),
            ]
        )
    }

    func lockRefreshToken(hash: Data) async throws -> RefreshTokenRecord? {
        let rows = try await connection.query(
            """
            SELECT user_id, family_id, expires_at, rotated_at, revoked_at, session_epoch, family_created_at
            FROM refresh_tokens WHERE token_hash = ?
            """,
            [SQLiteData(hash)]
        )
        guard let row = rows.first else { return nil }
        return RefreshTokenRecord(
            accountID: try row.uuid("user_id"),
            familyID: try row.uuid("family_id"),
            expiresAt: try row.date("expires_at"),
            rotatedAt: row.column("rotated_at")?.date,
            revokedAt: row.column("revoked_at")?.date,
            sessionEpoch: try row.int("session_epoch"),
            familyCreatedAt: try row.date("family_created_at")
        )
    }

    func countRefreshTokens(familyID: UUID, since: Date) async throws -> Int {
        let rows = try await connection.query(
            "SELECT count(*) AS count FROM refresh_tokens WHERE family_id = ? AND created_at >= ?",
            [SQLiteData(familyID), SQLiteData(since)]
        )
        return try rows.first?.int("count") ?? 0
    }

    func markRefreshTokenRotated(hash: Data, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ?",
            [SQLiteData(date), SQLiteData(hash)]
        )
    }

    func revokeRefreshTokenFamily(familyID: UUID, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            [SQLiteData(date), SQLiteData(familyID)]
        )
        _ = try await shared(LifecycleSQL.endFamilySession, [SQLiteData(familyID), SQLiteData(date)])
    }

    func endSessions(accountID: UUID, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
            [SQLiteData(date), SQLiteData(accountID)]
        )
        _ = try await connection.query(
            "UPDATE users SET session_epoch = session_epoch + 1, updated_at = ? WHERE id = ?",
            [SQLiteData(date), SQLiteData(accountID)]
        )
        _ = try await shared(LifecycleSQL.endAccountSessions, [SQLiteData(accountID), SQLiteData(date)])
        _ = try await shared(LifecycleSQL.deleteUnusedEmailChangeTokens, [SQLiteData(accountID)])
    }

    func latestPasswordResetTokenCreatedAt(accountID: UUID) async throws -> Date? {
        let rows = try await connection.query(
            "SELECT max(created_at) AS latest FROM password_reset_tokens WHERE user_id = ?",
            [SQLiteData(accountID)]
        )
        return rows.first?.column("latest")?.date
    }

    func deleteUnusedPasswordResetTokens(accountID: UUID) async throws {
        _ = try await connection.query(
            "DELETE FROM password_reset_tokens WHERE user_id = ? AND used_at IS NULL",
            [SQLiteData(accountID)]
        )
    }

    func insertPasswordResetToken(_ token: NewPasswordResetToken) async throws {
        _ = try await connection.query(
            "INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [
                SQLiteData(token.tokenHash), SQLiteData(token.accountID), SQLiteData(token.createdAt),
                SQLiteData(token.expiresAt),
            ]
        )
    }

    func lockPasswordResetToken(hash: Data) async throws -> PasswordResetTokenRecord? {
        let rows = try await connection.query(
            "SELECT user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = ?",
            [SQLiteData(hash)]
        )
        guard let row = rows.first else { return nil }
        return PasswordResetTokenRecord(
            accountID: try row.uuid("user_id"),
            expiresAt: try row.date("expires_at"),
            usedAt: row.column("used_at")?.date
        )
    }

    func markPasswordResetTokenUsed(hash: Data, at date: Date) async throws {
        _ = try await connection.query(
            "UPDATE password_reset_tokens SET used_at = ? WHERE token_hash = ?",
            [SQLiteData(date), SQLiteData(hash)]
        )
    }

    // MARK: Email requests

    func insertEmailRequest(_ request: EmailRequest) async throws {
        _ = try await connection.query(
            "INSERT INTO email_requests (id, kind, email, request_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [
                SQLiteData(request.id), .text(request.kind.rawValue), .text(request.email),
                SQLiteData(request.requestID), SQLiteData(request.createdAt),
            ]
        )
    }

    func takeEmailRequest() async throws -> EmailRequest? {
        let rows = try await connection.query(
            """
            DELETE FROM email_requests WHERE id = (SELECT id FROM email_requests ORDER BY created_at LIMIT 1)
            RETURNING id, kind, email, request_id, created_at
            """
        )
        guard let row = rows.first else { return nil }
        guard let kind = EmailRequest.Kind(rawValue: try row.string("kind")) else {
            throw StorageError.corruptRow("email_requests.kind")
        }
        return EmailRequest(
            id: try row.uuid("id"), kind: kind, email: try row.string("email"),
            requestID: row.column("request_id")?.string, createdAt: try row.date("created_at"))
    }

    // MARK: Idempotency keys

    func claimIdempotencyKey(_ key: IdempotencyKeyUse) async throws -> IdempotencyKeyClaim {
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (key_hash, fingerprint, created_at, expires_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (key_hash) DO UPDATE
                SET fingerprint = excluded.fingerprint, created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                WHERE idempotency_keys.expires_at <= excluded.created_at
            RETURNING key_hash
            """,
            [
                SQLiteData(key.keyHash), SQLiteData(key.fingerprint), SQLiteData(key.createdAt),
                SQLiteData(key.expiresAt),
            ]
        )
        if !inserted.isEmpty { return .first }
        let rows = try await connection.query(
            "SELECT fingerprint FROM idempotency_keys WHERE key_hash = ?", [SQLiteData(key.keyHash)])
        guard let stored = rows.first?.column("fingerprint")?.blob else {
            throw StorageError.corruptRow("idempotency_keys: conflict without a row")
        }
        return Data(stored.readableBytesView) == key.fingerprint ? .repeated : .reusedForAnotherRequest
    }

    func deleteExpiredIdempotencyKeys(before date: Date, limit: Int) async throws -> Int {
        try await connection.query(
            """
            DELETE FROM idempotency_keys WHERE key_hash IN (
                SELECT key_hash FROM idempotency_keys WHERE expires_at < ? LIMIT ?
            )
            RETURNING key_hash
            """,
            [SQLiteData(date), .integer(limit)]
        ).count
    }

    // MARK: Housekeeping

    func acquireHousekeepingLease(_ name: String, holder: String, now: Date, until: Date) async throws -> Bool {
        try await !shared(
            HousekeepingSQL.acquireLease, [.text(name), .text(holder), SQLiteData(now), SQLiteData(until)]
        ).isEmpty
    }

    func releaseHousekeepingLease(_ name: String, holder: String, now: Date) async throws {
        _ = try await shared(HousekeepingSQL.releaseLease, [.text(name), .text(holder), SQLiteData(now)])
    }

    func purge(_ kind: HousekeepingKind, cutoff: Date, limit: Int) async throws -> Int {
        // Never-verified accounts: one writer at a time (`BEGIN IMMEDIATE`), so no registration
        // can add a link between finding an account due and deleting it.
        let sql =
            HousekeepingSQL.purge(kind) ?? """
                DELETE FROM users WHERE id IN (
                    SELECT u.id FROM users u WHERE \(HousekeepingSQL.unverifiedAccountIsDue) LIMIT $2
                )
                RETURNING 1
                """
        return try await shared(sql, [SQLiteData(cutoff), .integer(limit)]).count
    }
}
