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

    /// Deletes up to `$2` rows of `table` whose `key` is among those `select` finds in `source`
    /// where `condition` holds; returns a row per row deleted.
    private static func batchDelete(
        from table: String, key: String, select: String? = nil, source: String? = nil, where condition: String
    ) -> String {
        """
        DELETE FROM \(table) WHERE \(key) IN (
            SELECT \(select ?? key) FROM \(source ?? table) WHERE \(condition) LIMIT $2
        )
        RETURNING 1
        """
    }

    /// The statement that purges `kind` at cutoff `$1`; nil for never-verified accounts, which
    /// each database deletes its own way (see the stores).
    static func purge(_ kind: HousekeepingKind) -> String? {
        switch kind {
        // Expired verification links (used or not) of active accounts. A pending account's
        // expired links stay: they say when its last link expired, and go with the account.
        case .verificationLinks:
            batchDelete(
                from: "verification_tokens", key: "token_hash", select: "v.token_hash",
                source: "verification_tokens v JOIN users u ON u.id = v.user_id",
                where: "v.expires_at < $1 AND u.status = 'active'")
        // Expired reset tokens, used or not (a used one answers "used" until it expires).
        case .resetTokens: batchDelete(from: "password_reset_tokens", key: "token_hash", where: "expires_at < $1")
        // Expired refresh tokens: rotated and revoked ones stay until then, so a reuse is still
        // detected while the token could have been valid.
        case .refreshTokens: batchDelete(from: "refresh_tokens", key: "token_hash", where: "expires_at < $1")
        // Emails sent or given up before `$1`, with their recipient addresses.
        case .emails:
            batchDelete(
                from: "email_outbox", key: "id",
                where: "(status = 'sent' AND sent_at < $1) OR (status = 'failed' AND failed_at < $1)")
        // Sessions that ended or expired before `$1`.
        case .sessions: batchDelete(from: "sessions", key: "id", where: "expires_at < $1 OR ended_at < $1")
        // Expired address-change links, used or not.
        case .emailChangeTokens: batchDelete(from: "email_change_tokens", key: "token_hash", where: "expires_at < $1")
        // Audit events older than `AUDIT_RETENTION`.
        case .auditEvents: batchDelete(from: "audit_events", key: "id", where: "occurred_at < $1")
        // Tombstones of accounts deleted longer than `AUDIT_RETENTION` ago: the trail that
        // needed them is gone too.
        case .tombstones: batchDelete(from: "account_tombstones", key: "user_id", where: "deleted_at < $1")
        case .unverifiedAccounts: nil
        }
    }

    /// Whether a pending account `u` is due: created before `$1` and no link of it expires at
    /// or after `$1` (its last link expired before then, or it never had one).
    static let unverifiedAccountIsDue = """
        u.status = 'pending' AND u.created_at < $1
        AND NOT EXISTS (SELECT 1 FROM verification_tokens v WHERE v.user_id = u.id AND v.expires_at >= $1)
        """
}
