/// Statements of sessions, administration, address changes and the audit trail, written once
/// for both databases (`$n` parameters; the SQLite store reads them as `?n`). Times are bound
/// as each database stores them, ids as UUIDs (text on SQLite).
enum LifecycleSQL {
    static let accountColumns =
        "id, email, status, role, password_hash, created_at, verified_at, session_epoch, disabled_at"

    /// `$1` status filter (`pending`, `active`, `disabled`, or `''` for any), `$2` LIKE pattern
    /// (`%` for any). No parameter is ever null: PostgreSQL could not tell its type.
    static let accountFilter = """
        ($1 = ''
            OR ($1 = 'disabled' AND disabled_at IS NOT NULL)
            OR ($1 <> 'disabled' AND status = $1 AND disabled_at IS NULL))
        AND email_normalized LIKE $2 ESCAPE '\\'
        """

    /// A page after the cursor (`$3` created_at, `$4` id; the first page starts from the Unix
    /// epoch and the nil UUID), `$5` rows. The cursor's account's own creation time is used while
    /// it exists: a time that went through the client and back may differ from the stored one in
    /// its last digit, which would show that account twice.
    static let listAccounts = """
        SELECT \(accountColumns) FROM users
        WHERE \(accountFilter)
        AND (created_at, id) > (coalesce((SELECT c.created_at FROM users c WHERE c.id = $4), $3), $4)
        ORDER BY created_at, id LIMIT $5
        """

    static let countAccounts = "SELECT count(*) AS count FROM users WHERE \(accountFilter)"

    /// `$1` id, `$2` now. Disabling an account already disabled keeps the first time.
    static let disable = """
        UPDATE users SET disabled_at = coalesce(disabled_at, $2), updated_at = $2 WHERE id = $1 RETURNING id
        """

    static let enable = "UPDATE users SET disabled_at = NULL, updated_at = $2 WHERE id = $1 RETURNING id"

    /// `$1` id, `$2` address, `$3` normalised address, `$4` now.
    static let changeEmail = "UPDATE users SET email = $2, email_normalized = $3, updated_at = $4 WHERE id = $1"

    static let insertTombstone = """
        INSERT INTO account_tombstones (user_id, created_at, deleted_at, deleted_by) VALUES ($1, $2, $3, $4)
        ON CONFLICT (user_id) DO NOTHING
        """

    static let insertSession = """
        INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, client_ip, user_agent)
        VALUES ($1, $2, $3, $3, $4, $5, $6)
        """

    /// `$1` session, `$2` now, `$3` when its newest refresh token expires.
    static let touchSession = "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1"

    static let sessionColumns = "id, user_id, created_at, last_used_at, expires_at, client_ip, user_agent"

    /// `$1` account, `$2` now.
    static let liveSessions = """
        SELECT \(sessionColumns) FROM sessions
        WHERE user_id = $1 AND ended_at IS NULL AND expires_at > $2
        ORDER BY last_used_at DESC, id LIMIT 100
        """

    /// `$1` session, `$2` account, `$3` now; returns the session when it was live.
    static let endSession = """
        UPDATE sessions SET ended_at = $3
        WHERE id = $1 AND user_id = $2 AND ended_at IS NULL AND expires_at > $3
        RETURNING id
        """

    static let endFamilySession = "UPDATE sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL"
    static let endAccountSessions = "UPDATE sessions SET ended_at = $2 WHERE user_id = $1 AND ended_at IS NULL"

    static let deleteUnusedEmailChangeTokens = "DELETE FROM email_change_tokens WHERE user_id = $1 AND used_at IS NULL"

    static let insertEmailChangeToken = """
        INSERT INTO email_change_tokens
            (token_hash, user_id, old_email_normalized, new_email, new_email_normalized, created_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """

    static let markEmailChangeTokenUsed = "UPDATE email_change_tokens SET used_at = $2 WHERE token_hash = $1"

    static let recordAudit = """
        INSERT INTO audit_events (occurred_at, event, user_id, actor, client_ip, user_agent, request_id, detail)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """

    static let auditColumns = "id, event, user_id, actor, occurred_at, client_ip, user_agent, request_id, detail"

    /// `$1` account (read only when `$4` is 1), `$2` the id to read below, `$3` rows.
    static let auditEvents = """
        SELECT \(auditColumns) FROM audit_events
        WHERE ($4 = 0 OR user_id = $1) AND id < $2
        ORDER BY id DESC LIMIT $3
        """
}
