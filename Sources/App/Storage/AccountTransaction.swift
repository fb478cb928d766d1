import Foundation

/// The statements a business transaction may run; all of them commit or roll back together.
public protocol AccountTransaction {
    /// Inserts the pending account unless its normalised address exists; either way returns
    /// the owner of the address, locked until the transaction ends. The unique constraint
    /// decides between concurrent registrations, never a prior read.
    func claimAddress(_ account: NewAccount) async throws -> AccountClaim
    func insertVerificationToken(_ token: NewVerificationToken) async throws
    func enqueueEmail(_ email: OutboxEmail) async throws
    /// Finds a token by hash and locks its account until the transaction ends.
    func lockVerificationToken(hash: Data) async throws -> VerificationTokenRecord?
    /// Activates the account with the password bound to the token, marks the token used
    /// (dropping its copy of the hash) and deletes the account's other verification tokens.
    func activateAccount(id: UUID, passwordHash: String, usingToken tokenHash: Data, at: Date) async throws

    /// The latest verification token of an account: its password hash and when it was made.
    func latestVerificationToken(accountID: UUID) async throws -> (passwordHash: String, createdAt: Date)?
    /// Whether the account has a live (unused, unexpired) verification link that carries a
    /// password other than `passwordHash`: another registration is waiting, so a link alone
    /// does not prove which registration is the owner's.
    func hasRivalRegistration(accountID: UUID, passwordHash: String, at: Date) async throws -> Bool

    // MARK: Accounts

    /// The account owning a normalised address, locked until the transaction ends.
    func lockAccount(normalizedEmail: String) async throws -> AccountRecord?
    func account(id: UUID) async throws -> AccountRecord?
    /// The account, read for starting or continuing a session: on PostgreSQL with a share
    /// lock, so a concurrent password change (which moves the session epoch) is waited for
    /// and seen.
    func accountForSession(id: UUID) async throws -> AccountRecord?
    func updatePasswordHash(accountID: UUID, passwordHash: String, at: Date) async throws
    /// Sets the role of the account with this address; its id, or nil when there is none.
    func setRole(normalizedEmail: String, role: Role, at: Date) async throws -> UUID?
    /// Up to `limit` accounts matching `filter` after `cursor`, in creation order.
    func listAccounts(
        _ filter: AccountFilter, after cursor: AccountCursor?, limit: Int
    ) async throws
        -> [AccountRecord]
    func countAccounts(_ filter: AccountFilter) async throws -> Int
    /// Marks the account disabled (keeping the first time when it already is) or enabled;
    /// false when there is no such account.
    func setDisabled(accountID: UUID, disabled: Bool, at now: Date) async throws -> Bool
    /// Changes the account's address; throws `AddressTaken` when another account
    /// has it (the transaction is then spoilt: roll it back).
    func changeEmail(accountID: UUID, to email: EmailAddress, at now: Date) async throws
    /// Records what is left of a deleted account: its id, when it was created and deleted, and
    /// by whom; no address and no personal data.
    func insertTombstone(accountID: UUID, createdAt: Date, deletedAt: Date, deletedBy: AuditActor) async throws
    /// Deletes the account and, by cascade, its links, sessions and reset tokens; false when
    /// it was already gone.
    func deleteAccount(id: UUID) async throws -> Bool

    // MARK: Refresh tokens

    func insertRefreshToken(_ token: NewRefreshToken) async throws
    /// Finds a refresh token by hash and locks it until the transaction ends.
    func lockRefreshToken(hash: Data) async throws -> RefreshTokenRecord?
    /// Refresh tokens of a family issued at or after `since` (the login's included).
    func countRefreshTokens(familyID: UUID, since: Date) async throws -> Int
    func markRefreshTokenRotated(hash: Data, at: Date) async throws
    func revokeRefreshTokenFamily(familyID: UUID, at: Date) async throws
    /// Ends every session of the account: moves its session epoch (so a session being made
    /// or refreshed concurrently is refused), revokes every refresh token, and cancels a
    /// pending change of address (its link may have been asked for with a stolen session).
    func endSessions(accountID: UUID, at: Date) async throws

    // MARK: Sessions

    func insertSession(_ session: SessionRecord) async throws
    /// Records a use of the session: it lapses when `expiresAt` (its newest token's expiry) passes.
    func touchSession(id: UUID, at: Date, expiresAt: Date) async throws
    /// The account's sessions that have not ended or expired at `now`, most recently used first.
    func liveSessions(accountID: UUID, at now: Date) async throws -> [SessionRecord]
    /// Ends one live session of the account, revoking its refresh tokens; false when the
    /// account has no such live session.
    func endSession(id: UUID, accountID: UUID, at now: Date) async throws -> Bool

    // MARK: Email change tokens

    func deleteUnusedEmailChangeTokens(accountID: UUID) async throws
    func insertEmailChangeToken(_ token: NewEmailChangeToken) async throws
    /// Finds a change token by hash and locks its account until the transaction ends.
    func lockEmailChangeToken(hash: Data) async throws -> EmailChangeTokenRecord?
    func markEmailChangeTokenUsed(hash: Data, at: Date) async throws

    // MARK: Audit trail

    func recordAudit(_ event: AuditEvent) async throws
    /// Up to `limit` events, newest first, of one account or of all, older than the event `before`.
    func auditEvents(accountID: UUID?, before: Int64?, limit: Int) async throws -> [AuditEventRecord]

    // MARK: Password reset tokens

    func latestPasswordResetTokenCreatedAt(accountID: UUID) async throws -> Date?
    func deleteUnusedPasswordResetTokens(accountID: UUID) async throws
    func insertPasswordResetToken(_ token: NewPasswordResetToken) async throws
    /// Finds a reset token by hash and locks it until the transaction ends.
    func lockPasswordResetToken(hash: Data) async throws -> PasswordResetTokenRecord?
    func markPasswordResetTokenUsed(hash: Data, at: Date) async throws

    // MARK: Email requests

    func insertEmailRequest(_ request: EmailRequest) async throws
    /// Takes the oldest recorded request out of the table (skipping those another transaction
    /// holds); it is back if this transaction rolls back.
    func takeEmailRequest() async throws -> EmailRequest?

    // MARK: Idempotency keys

    /// Records `key` unless it is stored and unexpired, and says which. On PostgreSQL a
    /// transaction recording the same key concurrently is waited for, so of two concurrent
    /// requests with one key exactly one does the work and the other sees it as `repeated`.
    func claimIdempotencyKey(_ key: IdempotencyKeyUse) async throws -> IdempotencyKeyClaim
    /// Deletes up to `limit` keys that expired before `date`; returns how many.
    func deleteExpiredIdempotencyKeys(before date: Date, limit: Int) async throws -> Int

    // MARK: Housekeeping

    /// Takes the lease `name` for `holder` until `until` if it is free, expired at `now`, or
    /// already `holder`'s; true when taken.
    func acquireHousekeepingLease(_ name: String, holder: String, now: Date, until: Date) async throws -> Bool
    /// Gives the lease back if `holder` still has it.
    func releaseHousekeepingLease(_ name: String, holder: String, now: Date) async throws
    /// Deletes up to `limit` rows of `kind` that are due at `cutoff` (see `HousekeepingKind`);
    /// returns how many.
    func purge(_ kind: HousekeepingKind, cutoff: Date, limit: Int) async throws -> Int
}

extension AccountTransaction {
    /// Whether the request should do its work: true without a key or for a key seen the first
    /// time; false for a retry of a committed request; throws for a key reused for another one.
    func proceed(with key: IdempotencyKeyUse?) async throws -> Bool {
        guard let key else { return true }
        switch try await claimIdempotencyKey(key) {
        case .first: return true
        case .repeated: return false
        case .reusedForAnotherRequest: throw IdempotencyKeyError.reused
        }
    }
}

extension AccountTransaction {
    /// Deletes `account` (locked by the caller) with its links, sessions and tokens, keeps a
    /// tombstone without its address, records the deletion, and tells the address when it was
    /// verified (a pending account's address was never proven to be its owner's). False when
    /// the account was already gone.
    func removeAccount(
        _ account: AccountRecord, by actor: AuditActor, at now: Date, requestID: String?
    )
        async throws -> Bool
    {
        guard try await deleteAccount(id: account.id) else { return false }
        try await insertTombstone(accountID: account.id, createdAt: account.createdAt, deletedAt: now, deletedBy: actor)
        try await recordAudit(AuditEvent(.deleted, account: account.id, actor: actor, at: now))
        if account.verifiedAt != nil {
            let content =
                actor == .owner ? EmailTemplates.accountDeleted() : EmailTemplates.accountDeletedByAdministrator()
            try await enqueueEmail(OutboxEmail(content, to: account.email, at: now, requestID: requestID))
        }
        return true
    }
}
