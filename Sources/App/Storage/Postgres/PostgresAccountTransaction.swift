import Foundation
import Logging
import PostgresNIO

/// `AccountTransaction` on a PostgreSQL connection that is inside `BEGIN … COMMIT`.
struct PostgresAccountTransaction: AccountTransaction {
    let connection: Traced<PostgresConnection>
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
        try await email.enqueued {
            try await connection.query(
                """
                INSERT INTO email_outbox
                    (id, kind, recipient, subject, text_body, html_body, next_attempt_at, request_id, created_at, trace_parent)
                VALUES (\(email.id), \(email.kind), \(email.recipient), \(email.subject), \(email.textBody),
                        \(email.htmlBody), \(email.createdAt), \(email.requestID), \(email.createdAt), \(email.traceParent))
                """,
                logger: logger
            )
        }
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

    func latestVerificationToken(accountID: UUID) async throws -> (passwordHash: String, createdAt: Date)? {
        let rows = try await connection.query(
            """
            SELECT password_hash, created_at FROM verification_tokens
            WHERE user_id = \(accountID) AND password_hash IS NOT NULL
            ORDER BY created_at DESC LIMIT 1
            """,
            logger: logger
        )
        for try await (hash, createdAt) in rows.decode((String, Date).self) {
            return (passwordHash: hash, createdAt: createdAt)
        }
        return nil
    }

    func hasRivalRegistration(accountID: UUID, passwordHash: String, at now: Date) async throws -> Bool {
        let rows = try await connection.query(
            """
            SELECT EXISTS (
                SELECT 1 FROM verification_tokens
                WHERE user_id = \(accountID) AND used_at IS NULL AND expires_at > \(now)
                  AND password_hash <> \(passwordHash)
            )
            """,
            logger: logger
        )
        for try await rival in rows.decode(Bool.self) { return rival }
        return false
    }

    private static let accountColumns = LifecycleSQL.accountColumns

    private func accounts(_ rows: PostgresRowSequence) async throws -> [AccountRecord] {
        var accounts: [AccountRecord] = []
        for try await row in rows { accounts.append(try Self.account(row)) }
        return accounts
    }

    /// `LifecycleSQL.accountColumns`, decoded.
    typealias AccountColumns = (UUID, String, String, String, String?, Date, Date?, Int, Date?)

    private static func account(_ row: PostgresRow) throws -> AccountRecord {
        try account(row.decode(AccountColumns.self))
    }

    static func account(_ row: AccountColumns) throws -> AccountRecord {
        guard let status = AccountStatus(rawValue: row.2), let role = Role(rawValue: row.3) else {
            throw StorageError.corruptRow("users.status or users.role")
        }
        return AccountRecord(
            id: row.0,
            email: row.1,
            status: status,
            role: role,
            passwordHash: row.4,
            createdAt: row.5,
            verifiedAt: row.6,
            sessionEpoch: row.7,
            disabledAt: row.8
        )
    }

    /// The single-row lookups by id, prepared: `GET /v1/me` and every refresh run one.
    private func account(id: UUID, statement: (some HotStatement).Type) async throws -> AccountRecord? {
        var binds = PostgresBindings()
        binds.append(id)
        return try await connection.run(statement, binds, logger: logger).first.map(Self.account)
    }

    /// Runs one of the statements written once for both databases.
    private func shared(_ sql: String, _ binds: PostgresBindings) async throws -> PostgresRowSequence {
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    func lockAccount(normalizedEmail: String) async throws -> AccountRecord? {
        try await accounts(
            connection.query(
                "SELECT \(unescaped: Self.accountColumns) FROM users WHERE email_normalized = \(normalizedEmail) FOR UPDATE",
                logger: logger
            )
        ).first
    }

    func account(id: UUID) async throws -> AccountRecord? {
        try await account(id: id, statement: HotSQL.Account.self)
    }

    func accountForSession(id: UUID) async throws -> AccountRecord? {
        try await account(id: id, statement: HotSQL.AccountForSession.self)
    }

    func updatePasswordHash(accountID: UUID, passwordHash: String, at date: Date) async throws {
        try await connection.query(
            "UPDATE users SET password_hash = \(passwordHash), updated_at = \(date) WHERE id = \(accountID)",
            logger: logger
        )
    }

    func deleteAccount(id: UUID) async throws -> Bool {
        try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING id", logger: logger)
            .collect().count == 1
    }

    func setRole(normalizedEmail: String, role: Role, at date: Date) async throws -> UUID? {
        let rows = try await connection.query(
            """
            UPDATE users SET role = \(role.rawValue), updated_at = \(date)
            WHERE email_normalized = \(normalizedEmail) RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    private func filterBinds(_ filter: AccountFilter) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(filter.status?.rawValue ?? "")
        binds.append(filter.likePattern)
        return binds
    }

    func listAccounts(
        _ filter: AccountFilter, after cursor: AccountCursor?, limit: Int
    ) async throws
        -> [AccountRecord]
    {
        var binds = filterBinds(filter)
        binds.append((cursor ?? .start).createdAt)
        binds.append((cursor ?? .start).id)
        binds.append(limit)
        return try await accounts(shared(LifecycleSQL.listAccounts, binds))
    }

    func countAccounts(_ filter: AccountFilter) async throws -> Int {
        for try await count in try await shared(LifecycleSQL.countAccounts, filterBinds(filter)).decode(Int.self) {
            return count
        }
        return 0
    }

    func setDisabled(accountID: UUID, disabled: Bool, at now: Date) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(now)
        return try await shared(disabled ? LifecycleSQL.disable : LifecycleSQL.enable, binds).collect().count == 1
    }

    func changeEmail(accountID: UUID, to email: EmailAddress, at now: Date) async throws {
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(email.value)
        binds.append(email.normalized)
        binds.append(now)
        do {
            _ = try await shared(LifecycleSQL.changeEmail, binds).collect()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw AddressTaken()
        }
    }

    func insertTombstone(accountID: UUID, createdAt: Date, deletedAt: Date, deletedBy: AuditActor) async throws {
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(createdAt)
        binds.append(deletedAt)
        binds.append(deletedBy.stored)
        _ = try await shared(LifecycleSQL.insertTombstone, binds).collect()
    }

    // MARK: Sessions

    func insertSession(_ session: SessionRecord) async throws {
        var binds = PostgresBindings()
        binds.append(session.id)
        binds.append(session.accountID)
        binds.append(session.createdAt)
        binds.append(session.expiresAt)
        binds.append(session.clientIP)
        binds.append(session.userAgent)
        _ = try await shared(LifecycleSQL.insertSession, binds).collect()
    }

    func touchSession(id: UUID, at date: Date, expiresAt: Date) async throws {
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(date)
        binds.append(expiresAt)
        _ = try await connection.run(HotSQL.TouchSession.self, binds, logger: logger)
    }

    func liveSessions(accountID: UUID, at now: Date) async throws -> [SessionRecord] {
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(now)
        var sessions: [SessionRecord] = []
        for try await row in try await shared(LifecycleSQL.liveSessions, binds).decode(
            (UUID, UUID, Date, Date, Date, String?, String?).self)
        {
            sessions.append(
                SessionRecord(
                    id: row.0, accountID: row.1, createdAt: row.2, lastUsedAt: row.3, expiresAt: row.4,
                    clientIP: row.5, userAgent: row.6))
        }
        return sessions
    }

    func endSession(id: UUID, accountID: UUID, at now: Date) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(id)
        binds.append(accountID)
        binds.append(now)
        guard try await shared(LifecycleSQL.endSession, binds).collect().count == 1 else { return false }
        try await connection.query(
            """
            UPDATE refresh_tokens SET revoked_at = \(now)
            WHERE family_id = \(id) AND user_id = \(accountID) AND revoked_at IS NULL
            """,
            logger: logger)
        return true
    }

    // MARK: Email change tokens

    func deleteUnusedEmailChangeTokens(accountID: UUID) async throws {
        var binds = PostgresBindings()
        binds.append(accountID)
        _ = try await shared(LifecycleSQL.deleteUnusedEmailChangeTokens, binds).collect()
    }

    func insertEmailChangeToken(_ token: NewEmailChangeToken) async throws {
        var binds = PostgresBindings()
        try binds.append(token.tokenHash)
        binds.append(token.accountID)
        binds.append(token.oldNormalizedEmail)
        binds.append(token.newEmail.value)
        binds.append(token.newEmail.normalized)
        binds.append(token.createdAt)
        binds.append(token.expiresAt)
        _ = try await shared(LifecycleSQL.insertEmailChangeToken, binds).collect()
    }

    func lockEmailChangeToken(hash: Data) async throws -> EmailChangeTokenRecord? {
        let rows = try await connection.query(
            """
            SELECT t.user_id, t.old_email_normalized, t.new_email, t.new_email_normalized, t.expires_at, t.used_at
            FROM email_change_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = \(hash)
            FOR UPDATE OF u
            """,
            logger: logger)
        for try await row in rows.decode((UUID, String, String, String, Date, Date?).self) {
            return EmailChangeTokenRecord(
                accountID: row.0, oldNormalizedEmail: row.1, newEmail: row.2, newNormalizedEmail: row.3,
                expiresAt: row.4, usedAt: row.5)
        }
        return nil
    }

    func markEmailChangeTokenUsed(hash: Data, at date: Date) async throws {
        var binds = PostgresBindings()
        try binds.append(hash)
        binds.append(date)
        _ = try await shared(LifecycleSQL.markEmailChangeTokenUsed, binds).collect()
    }

    // MARK: Audit trail

    func recordAudit(_ event: AuditEvent) async throws {
        var binds = PostgresBindings()
        binds.append(event.occurredAt)
        binds.append(event.kind.rawValue)
        binds.append(event.accountID)
        binds.append(event.actor.stored)
        binds.append(event.origin?.clientIP)
        binds.append(event.origin?.userAgent)
        binds.append(event.origin?.requestID)
        binds.append(event.storedDetail)
        _ = try await shared(LifecycleSQL.recordAudit, binds).collect()
    }

    func auditEvents(accountID: UUID?, before: Int64?, limit: Int) async throws -> [AuditEventRecord] {
        var binds = PostgresBindings()
        binds.append(accountID ?? AccountCursor.start.id)
        binds.append(before ?? Int64.max)
        binds.append(limit)
        binds.append(accountID == nil ? 0 : 1)
        var events: [AuditEventRecord] = []
        for try await row in try await shared(LifecycleSQL.auditEvents, binds).decode(
            (Int64, String, UUID?, String, Date, String?, String?, String?, String?).self)
        {
            events.append(
                AuditEventRecord(
                    id: row.0, event: row.1, accountID: row.2, actor: row.3, occurredAt: row.4, clientIP: row.5,
                    userAgent: row.6, requestID: row.7, detail: row.8))
        }
        return events
    }

    func insertRefreshToken(_ token: NewRefreshToken) async throws {
        var binds = PostgresBindings()
        try binds.append(token.tokenHash)
        binds.append(token.accountID)
        binds.append(token.familyID)
        binds.append(token.createdAt)
        binds.append(token.expiresAt)
        binds.append(token.sessionEpoch)
        binds.append(token.familyCreatedAt)
        _ = try await connection.run(HotSQL.InsertRefreshToken.self, binds, logger: logger)
    }

    func lockRefreshToken(hash: Data) async throws -> RefreshTokenRecord? {
        var binds = PostgresBindings()
        try binds.append(hash)
        return try await connection.run(HotSQL.LockRefreshToken.self, binds, logger: logger).first.map { row in
            let row = try row.decode((UUID, UUID, Date, Date?, Date?, Int, Date).self)
            return RefreshTokenRecord(
                accountID: row.0, familyID: row.1, expiresAt: row.2, rotatedAt: row.3, revokedAt: row.4,
                sessionEpoch: row.5, familyCreatedAt: row.6)
        }
    }

    func countRefreshTokens(familyID: UUID, since: Date) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(familyID)
        binds.append(since)
        return try await connection.run(HotSQL.CountFamilyTokens.self, binds, logger: logger).first?
            .decode(Int.self) ?? 0
    }

    func markRefreshTokenRotated(hash: Data, at date: Date) async throws {
        var binds = PostgresBindings()
        try binds.append(hash)
        binds.append(date)
        _ = try await connection.run(HotSQL.MarkRefreshTokenRotated.self, binds, logger: logger)
    }

    func revokeRefreshTokenFamily(familyID: UUID, at date: Date) async throws {
        try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = \(date) WHERE family_id = \(familyID) AND revoked_at IS NULL",
            logger: logger
        )
        var binds = PostgresBindings()
        binds.append(familyID)
        binds.append(date)
        _ = try await shared(LifecycleSQL.endFamilySession, binds).collect()
    }

    func endSessions(accountID: UUID, at date: Date) async throws {
        try await connection.query(
            "UPDATE refresh_tokens SET revoked_at = \(date) WHERE user_id = \(accountID) AND revoked_at IS NULL",
            logger: logger
        )
        try await connection.query(
            "UPDATE users SET session_epoch = session_epoch + 1, updated_at = \(date) WHERE id = \(accountID)",
            logger: logger
        )
        var binds = PostgresBindings()
        binds.append(accountID)
        binds.append(date)
        _ = try await shared(LifecycleSQL.endAccountSessions, binds).collect()
        var account = PostgresBindings()
        account.append(accountID)
        _ = try await shared(LifecycleSQL.deleteUnusedEmailChangeTokens, account).collect()
    }

    func latestPasswordResetTokenCreatedAt(accountID: UUID) async throws -> Date? {
        let rows = try await connection.query(
            "SELECT max(created_at) FROM password_reset_tokens WHERE user_id = \(accountID)",
            logger: logger
        )
        for try await date in rows.decode(Date?.self) { return date }
        return nil
    }

    func deleteUnusedPasswordResetTokens(accountID: UUID) async throws {
        try await connection.query(
            "DELETE FROM password_reset_tokens WHERE user_id = \(accountID) AND used_at IS NULL",
            logger: logger
        )
    }

    func insertPasswordResetToken(_ token: NewPasswordResetToken) async throws {
        try await connection.query(
            """
            INSERT INTO password_reset_tokens (token_hash, user_id, created_at, expires_at)
            VALUES (\(token.tokenHash), \(token.accountID), \(token.createdAt), \(token.expiresAt))
            """,
            logger: logger
        )
    }

    func lockPasswordResetToken(hash: Data) async throws -> PasswordResetTokenRecord? {
        let rows = try await connection.query(
            "SELECT user_id, expires_at, used_at FROM password_reset_tokens WHERE token_hash = \(hash) FOR UPDATE",
            logger: logger
        )
        for try await row in rows.decode((UUID, Date, Date?).self) {
            return PasswordResetTokenRecord(accountID: row.0, expiresAt: row.1, usedAt: row.2)
        }
        return nil
    }

    func markPasswordResetTokenUsed(hash: Data, at date: Date) async throws {
        try await connection.query(
            "UPDATE password_reset_tokens SET used_at = \(date) WHERE token_hash = \(hash)",
            logger: logger
        )
    }

    // MARK: Email requests

    func insertEmailRequest(_ request: EmailRequest) async throws {
        try await connection.query(
            """
            INSERT INTO email_requests (id, kind, email, request_id, created_at)
            VALUES (\(request.id), \(request.kind.rawValue), \(request.email), \(request.requestID), \(request.createdAt))
            """,
            logger: logger
        )
    }

    func takeEmailRequest() async throws -> EmailRequest? {
        let rows = try await connection.query(
            """
            DELETE FROM email_requests WHERE id = (
                SELECT id FROM email_requests ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
            )
            RETURNING id, kind, email, request_id, created_at
            """,
            logger: logger
        )
        for try await (id, kind, email, requestID, createdAt) in rows.decode((UUID, String, String, String?, Date).self)
        {
            guard let kind = EmailRequest.Kind(rawValue: kind) else {
                throw StorageError.corruptRow("email_requests.kind")
            }
            return EmailRequest(id: id, kind: kind, email: email, requestID: requestID, createdAt: createdAt)
        }
        return nil
    }

    // MARK: Idempotency keys

    func claimIdempotencyKey(_ key: IdempotencyKeyUse) async throws -> IdempotencyKeyClaim {
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (key_hash, fingerprint, created_at, expires_at)
            VALUES (\(key.keyHash), \(key.fingerprint), \(key.createdAt), \(key.expiresAt))
            ON CONFLICT (key_hash) DO UPDATE
                SET fingerprint = excluded.fingerprint, created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                WHERE idempotency_keys.expires_at <= excluded.created_at
            RETURNING key_hash
            """,
            logger: logger
        )
        for try await _ in inserted.decode(Data.self) { return .first }
        let rows = try await connection.query(
            "SELECT fingerprint FROM idempotency_keys WHERE key_hash = \(key.keyHash)", logger: logger)
        for try await fingerprint in rows.decode(Data.self) {
            return fingerprint == key.fingerprint ? .repeated : .reusedForAnotherRequest
        }
        throw StorageError.corruptRow("idempotency_keys: conflict without a row")
    }

    func deleteExpiredIdempotencyKeys(before date: Date, limit: Int) async throws -> Int {
        let rows = try await connection.query(
            """
            DELETE FROM idempotency_keys WHERE key_hash IN (
                SELECT key_hash FROM idempotency_keys WHERE expires_at < \(date) LIMIT \(limit)
            )
            RETURNING key_hash
            """,
            logger: logger
        )
        var deleted = 0
        for try await _ in rows.decode(Data.self) { deleted += 1 }
        return deleted
    }

    // MARK: Housekeeping

    func acquireHousekeepingLease(_ name: String, holder: String, now: Date, until: Date) async throws -> Bool {
        var binds = PostgresBindings()
        binds.append(name)
        binds.append(holder)
        binds.append(now)
        binds.append(until)
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: HousekeepingSQL.acquireLease, binds: binds), logger: logger)
        for try await _ in rows.decode(String.self) { return true }
        return false
    }

    func releaseHousekeepingLease(_ name: String, holder: String, now: Date) async throws {
        var binds = PostgresBindings()
        binds.append(name)
        binds.append(holder)
        binds.append(now)
        try await connection.query(PostgresQuery(unsafeSQL: HousekeepingSQL.releaseLease, binds: binds), logger: logger)
    }

    func purge(_ kind: HousekeepingKind, cutoff: Date, limit: Int) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(cutoff)
        binds.append(limit)
        guard let sql = HousekeepingSQL.purge(kind) else {
            return try await purgeUnverifiedAccounts(cutoff: cutoff, limit: limit)
        }
        return try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect().count
    }

    /// Locks the due accounts (skipping any a registration holds), then deletes those still due
    /// under a new snapshot: a link a registration committed meanwhile keeps its account, and
    /// none can be added until this transaction ends (registration takes the same row lock).
    /// Their links, sessions and reset tokens go with them (`ON DELETE CASCADE`).
    private func purgeUnverifiedAccounts(cutoff: Date, limit: Int) async throws -> Int {
        var binds = PostgresBindings()
        binds.append(cutoff)
        binds.append(limit)
        let due = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT u.id FROM users u WHERE \(HousekeepingSQL.unverifiedAccountIsDue)
                    LIMIT $2 FOR UPDATE OF u SKIP LOCKED
                    """,
                binds: binds),
            logger: logger)
        var ids: [UUID] = []
        for try await id in due.decode(UUID.self) { ids.append(id) }
        guard !ids.isEmpty else { return 0 }
        let deleted = try await connection.query(
            """
            DELETE FROM users u WHERE u.id = ANY(\(ids)) AND u.status = 'pending'
            AND NOT EXISTS (SELECT 1 FROM verification_tokens v WHERE v.user_id = u.id AND v.expires_at >= \(cutoff))
            RETURNING u.id
            """,
            logger: logger)
        return try await deleted.collect().count
    }
}
