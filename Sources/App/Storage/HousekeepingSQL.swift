/// Housekeeping's statements, written once for both databases (`$n` parameters; the SQLite
/// store reads them as `?n`). Every purge deletes at most `$2` rows per statement, so no
/// statement holds many locks or writes a long burst of WAL; each returns one row per row it
/// deleted.
enum HousekeepingSQL {
    /// Takes the lease `$1` for holder `$2` at time `$3` until `$4` if it is free, expired or
    /// already this holder's; returns a row only then.
    static let acquireLease = """
        INSERT INTO housekeeping_leases (name, holder, expires_at) VALUES ($1, $2, $4)
        ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
        WHERE housekeeping_leases.expires_at <= $3 OR housekeeping_leases.holder = excluded.holder
        RETURNING name
        """

    /// Gives the lease `$1` back (expiring it at `$3`) if holder `$2` still has it.
    static let releaseLease = "UPDATE housekeeping_leases SET expires_at = $3 WHERE name = $1 AND holder = $2"

    /// Expired verification links (used or not) of active accounts. A pending account's
    /// expired links stay: they say when its last link expired, and go with the account.
    static let purgeVerificationLinks = """
        DELETE FROM verification_tokens WHERE token_hash IN (
            SELECT v.token_hash FROM verification_tokens v JOIN users u ON u.id = v.user_id
            WHERE v.expires_at < $1 AND u.status = 'active' LIMIT $2
        )
        RETURNING 1
        """

    /// Expired reset tokens, used or not (a used one answers "used" until it expires).
    static let purgeResetTokens = """
        DELETE FROM password_reset_tokens WHERE token_hash IN (
            SELECT token_hash FROM password_reset_tokens WHERE expires_at < $1 LIMIT $2
        )
        RETURNING 1
        """

    /// Expired refresh tokens: rotated and revoked ones stay until then, so a reuse is still
    /// detected while the token could have been valid.
    static let purgeRefreshTokens = """
        DELETE FROM refresh_tokens WHERE token_hash IN (
            SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2
        )
        RETURNING 1
        """

    /// Emails sent or given up before `$1`, with their recipient addresses.
    static let purgeFinishedEmails = """
        DELETE FROM email_outbox WHERE id IN (
            SELECT id FROM email_outbox
            WHERE (status = 'sent' AND sent_at < $1) OR (status = 'failed' AND failed_at < $1)
            LIMIT $2
        )
        RETURNING 1
        """

    /// Whether a pending account `u` is due: created before `$1` and no link of it expires at
    /// or after `$1` (its last link expired before then, or it never had one).
    static let unverifiedAccountIsDue = """
        u.status = 'pending' AND u.created_at < $1
        AND NOT EXISTS (SELECT 1 FROM verification_tokens v WHERE v.user_id = u.id AND v.expires_at >= $1)
        """

    /// Sessions that ended or expired before `$1`.
    static let purgeSessions = """
        DELETE FROM sessions WHERE id IN (
            SELECT id FROM sessions WHERE expires_at < $1 OR ended_at < $1 LIMIT $2
        )
        RETURNING 1
        """

    /// Expired address-change links, used or not.
    static let purgeEmailChangeTokens = """
        DELETE FROM email_change_tokens WHERE token_hash IN (
            SELECT token_hash FROM email_change_tokens WHERE expires_at < $1 LIMIT $2
        )
        RETURNING 1
        """

    /// Audit events older than `AUDIT_RETENTION`.
    static let purgeAuditEvents = """
        DELETE FROM audit_events WHERE id IN (
            SELECT id FROM audit_events WHERE occurred_at < $1 LIMIT $2
        )
        RETURNING 1
        """

    /// Tombstones of accounts deleted longer than `AUDIT_RETENTION` ago: the trail that needed
    /// them is gone too.
    static let purgeTombstones = """
        DELETE FROM account_tombstones WHERE user_id IN (
            SELECT user_id FROM account_tombstones WHERE deleted_at < $1 LIMIT $2
        )
        RETURNING 1
        """
}
