import Foundation
import Logging
import PostgresNIO

/// `AccountStore` on a PostgreSQL connection pool.
struct PostgresAccountStore: AccountStore {
    let client: Traced<PostgresClient>
    let logger: Logger
    let calls: PostgresCalls

    func withTransaction<Result: Sendable>(
        _ body: @escaping @Sendable (any AccountTransaction) async throws -> Result
    ) async throws -> Result {
        do {
            return try await calls.run {
                try await client.withTransaction(logger: logger) { connection in
                    let result = try await body(PostgresAccountTransaction(connection: connection, logger: logger))
                    // Cut short by the timeout meanwhile (the caller has answered 503): roll back,
                    // never commit behind the caller's back.
                    try Task.checkCancellation()
                    return result
                }
            }
        } catch let error as PostgresTransactionError {
            // Surface the caller's own error (e.g. a domain error) rather than the wrapper.
            throw error.closureError ?? error
        }
    }

    /// A single statement on a pooled connection, in its implicit transaction.
    func account(id: UUID) async throws -> AccountRecord? {
        try await calls.run {
            try await client.withConnection { connection in
                try await PostgresAccountTransaction(connection: connection, logger: logger).account(id: id)
            }
        }
    }

    /// `SessionService`'s rotation in one prepared statement when it succeeds (`HotSQL.RotateRefreshToken`).
    func rotateRefreshTokenAtOnce(_ rotation: RefreshRotation) async throws -> RotatedSession? {
        var binds = PostgresBindings()
        try binds.append(rotation.presentedHash)
        binds.append(rotation.now)
        try binds.append(rotation.successorHash)
        binds.append(rotation.successorExpiry)
        binds.append(rotation.familyMaxAge.timeInterval)
        binds.append(rotation.familyLimitSince ?? rotation.now)
        binds.append(rotation.familyLimit.map { Int64($0.limit) } ?? -1)
        return try await calls.run { [binds] in
            guard let row = try await client.run(HotSQL.RotateRefreshToken.self, binds, logger: logger).first else {
                return nil
            }
            let columns = try row.decode((UUID, String, String, String, String?, Date, Date?, Int, Date?, UUID).self)
            let account = try PostgresAccountTransaction.account(
                (columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8))
            return RotatedSession(account: account, session: columns.9)
        }
    }

    /// `useVerificationTokenInSteps` in one prepared statement: one round trip, one implicit
    /// transaction, planned once per connection.
    func useVerificationToken(hash: Data, at now: Date, passwordChecked: Bool) async throws -> VerificationTokenUse {
        try await calls.run {
            let rows = try await client.execute(
                UseVerificationToken(hash: hash, now: now, passwordChecked: passwordChecked), logger: logger)
            for try await (id, status, expiresAt, activated, rival) in rows {
                if activated { return .activated(accountID: id) }
                guard let status = AccountStatus(rawValue: status) else {
                    throw StorageError.corruptRow("users.status")
                }
                if status == .active { return .alreadyActive(accountID: id) }
                if expiresAt <= now { return .expired }
                if rival { return .passwordRequired(accountID: id) }
                // Pending and valid, yet not activated: the link was used (it keeps no password).
                return .unknown
            }
            return .unknown
        }
    }
}

/// The verification of a link as one statement. The account row is locked (`FOR UPDATE OF u`)
/// as in the steps: a concurrent use of another link of the same account waits, then sees the
/// account active. The sub-statements see one snapshot, so each depends on `activated`.
/// `rival` is another live link with another password (unless `$3`, the caller checked the
/// password of this link's registration): then nothing changes.
struct UseVerificationToken: PostgresPreparedStatement {
    // The default name is computed with reflection on every execution.
    static let name = "use_verification_token_v3"
    static let sql = """
        WITH target AS (
            SELECT t.user_id, u.status, t.password_hash, t.expires_at
            FROM verification_tokens t JOIN users u ON u.id = t.user_id
            WHERE t.token_hash = $1
            FOR UPDATE OF u
        ), rival AS (
            SELECT NOT $3 AND EXISTS (
                SELECT 1 FROM verification_tokens o, target
                WHERE o.user_id = target.user_id AND o.used_at IS NULL AND o.expires_at > $2
                  AND o.password_hash <> target.password_hash
            ) AS found
        ), activated AS (
            UPDATE users u
            SET status = 'active', password_hash = target.password_hash, verified_at = $2, updated_at = $2
            FROM target
            WHERE u.id = target.user_id AND target.status <> 'active'
              AND target.expires_at > $2 AND target.password_hash IS NOT NULL
              AND NOT (SELECT found FROM rival)
            RETURNING u.id
        ), used AS (
            UPDATE verification_tokens SET used_at = $2, password_hash = NULL
            WHERE token_hash = $1 AND EXISTS (SELECT 1 FROM activated)
        ), others AS (
            DELETE FROM verification_tokens t USING activated a
            WHERE t.user_id = a.id AND t.token_hash <> $1
        ), audited AS (
            INSERT INTO audit_events (occurred_at, event, user_id, actor, client_ip, user_agent, request_id)
            SELECT $2, 'user.verified', a.id, 'self', $4::text, $5::text, $6::text FROM activated a
        )
        SELECT user_id, status, expires_at, EXISTS (SELECT 1 FROM activated), (SELECT found FROM rival)
        FROM target
        """
    typealias Row = (UUID, String, Date, Bool, Bool)

    var hash: Data
    var now: Date
    var passwordChecked: Bool
    /// Where the request came from, for the audit trail.
    var origin: RequestOrigin? = RequestOrigin.current

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        try bindings.append(hash)
        bindings.append(now)
        bindings.append(passwordChecked)
        bindings.append(origin?.clientIP)
        bindings.append(origin?.userAgent)
        bindings.append(origin?.requestID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
