import Foundation
import Logging

/// Login, refresh-token rotation and logout.
///
/// Refresh tokens are opaque 256-bit secrets stored as SHA-256. Each login starts a family;
/// every refresh marks the presented token rotated and issues its successor in the same
/// family. A rotated token presented again means two parties hold the family (one stole it):
/// the whole family is revoked, so the thief and the victim both have to log in again.
public struct SessionService: Sendable {
    let store: any AccountStore
    let hasher: PasswordHasher
    let tokens: AccessTokens
    let refreshTokenTTL: Duration
    let refreshTokenMaxAge: Duration
    /// At most `limit` exchanges per token family within any `window` (rolling).
    let familyRefreshLimit: (limit: Int, window: Duration)?
    /// Sends a pending account's link again when its owner logs in with the right password.
    let registration: RegistrationService?
    /// A real hash of a random password, checked when the address is unknown so that an
    /// unknown address costs the same bcrypt time as a wrong password.
    let dummyHash: String

    public init(
        store: any AccountStore, hasher: PasswordHasher, tokens: AccessTokens, refreshTokenTTL: Duration,
        refreshTokenMaxAge: Duration? = nil, familyRefreshLimit: (limit: Int, window: Duration)? = nil,
        registration: RegistrationService? = nil
    ) async throws {
        self.store = store
        self.familyRefreshLimit = familyRefreshLimit
        self.refreshTokenMaxAge = refreshTokenMaxAge ?? refreshTokenTTL
        self.registration = registration
        self.hasher = hasher
        self.tokens = tokens
        self.refreshTokenTTL = refreshTokenTTL
        // Made outside admission control: start-up must not be refused for being "overloaded".
        self.dummyHash = try await PasswordHasher(cost: hasher.cost).hash(OpaqueToken.generate().value)
    }

    public func login(email: EmailAddress, password: String, logger: Logger) async throws -> TokenPair {
        let account = try await store.withTransaction { try await $0.lockAccount(normalizedEmail: email.normalized) }
        guard let account else {
            _ = try await hasher.verify(password, against: dummyHash)
            logger.info("login refused", metadata: ["event": "user.login_failed", "reason": "unknown_email"])
            try await recordLoginFailure(accountID: nil, reason: "unknown_email")
            throw AuthError.invalidCredentials
        }
        switch account.status {
        case .pending:
            // A pending account has no password of its own; the one chosen at the latest
            // registration waits with its link. Whatever the password, the answer is the one a
            // wrong password gets (a different one would tell an attacker who registered the
            // address that it was pending, not active). The right password quietly gets its
            // link again, within the cooldown, so the owner who lost the email is not stuck.
            let pending = try await store.withTransaction {
                try await $0.latestVerificationToken(accountID: account.id)
            }
            let matches = try await hasher.verify(password, against: pending?.passwordHash ?? dummyHash)
            var outcome = "not_sent"
            if matches, let registration { outcome = try await registration.resendAfterLogin(to: email) }
            logger.info(
                "login refused",
                metadata: [
                    "event": "user.login_failed", "user_id": "\(account.id.lowercased)",
                    "reason": "\(matches ? "email_not_verified" : "wrong_password")",
                    "verification_resend": "\(outcome)",
                ]
            )
            try await recordLoginFailure(
                accountID: account.id, reason: matches ? "email_not_verified" : "wrong_password")
            throw AuthError.invalidCredentials
        case .active:
            guard let stored = account.passwordHash, try await hasher.verify(password, against: stored) else {
                logger.info(
                    "login refused",
                    metadata: [
                        "event": "user.login_failed", "user_id": "\(account.id.lowercased)", "reason": "wrong_password",
                    ]
                )
                try await recordLoginFailure(accountID: account.id, reason: "wrong_password")
                throw AuthError.invalidCredentials
            }
            guard account.disabledAt == nil else {
                logger.info(
                    "login refused",
                    metadata: [
                        "event": "user.login_failed", "user_id": "\(account.id.lowercased)", "reason": "disabled",
                    ]
                )
                try await recordLoginFailure(accountID: account.id, reason: "disabled")
                throw AuthError.accountDisabled
            }
            // Upgrade hashes made with another cost while the plain password is at hand.
            let rehashed = hasher.needsRehash(stored) ? try await hasher.hash(password) : nil
            let pair = try await startSession(for: account, rehashed: rehashed)
            logger.info(
                "login succeeded",
                metadata: [
                    "event": "user.login", "user_id": "\(account.id.lowercased)", "rehashed": "\(rehashed != nil)",
                ]
            )
            return pair
        }
    }

    /// Starts a session for `account` as it was read before its password was checked. If the
    /// account's session epoch moved meanwhile (a password change or reset committed while the
    /// hash was being checked), the password that was checked is no longer the account's:
    /// refused like a wrong one, so no session outlives a reset that raced it.
    private func startSession(for account: AccountRecord, rehashed: String?) async throws -> TokenPair {
        let now = Date()
        let refresh = OpaqueToken.generate()
        let started = try await store.withTransaction { transaction -> (AccountRecord, UUID)? in
            guard let current = try await transaction.accountForSession(id: account.id),
                current.isUsable, current.sessionEpoch == account.sessionEpoch
            else { return nil }
            if let rehashed {
                try await transaction.updatePasswordHash(accountID: account.id, passwordHash: rehashed, at: now)
            }
            let session = try await startFamily(in: transaction, refresh: refresh, for: current, at: now)
            try await transaction.recordAudit(AuditEvent(.loginSucceeded, account: account.id, at: now))
            return (current, session)
        }
        guard let (current, session) = started else { throw AuthError.invalidCredentials }
        return try await tokenPair(for: current, session: session, refresh: refresh, at: now)
    }

    /// Records a refused login in the audit trail (nil account: the address is unknown).
    private func recordLoginFailure(accountID: UUID?, reason: String) async throws {
        let event = AuditEvent(.loginFailed, account: accountID, at: Date(), detail: ["reason": reason])
        try await store.withTransaction { try await $0.recordAudit(event) }
    }

    /// Starts a new session (refresh-token family) of `account` in its current epoch, with
    /// `refresh` as its first token and the request's address and agent in the session list;
    /// returns the session's id.
    private func startFamily(
        in transaction: any AccountTransaction, refresh: OpaqueToken, for account: AccountRecord, at now: Date
    ) async throws -> UUID {
        let family = UUID()
        let expiresAt = now.addingTimeInterval(min(refreshTokenTTL, refreshTokenMaxAge).timeInterval)
        try await transaction.insertRefreshToken(
            NewRefreshToken(
                tokenHash: refresh.hash,
                accountID: account.id,
                familyID: family,
                createdAt: now,
                expiresAt: expiresAt,
                sessionEpoch: account.sessionEpoch,
                familyCreatedAt: now
            ))
        let origin = RequestOrigin.current
        try await transaction.insertSession(
            SessionRecord(
                id: family, accountID: account.id, createdAt: now, lastUsedAt: now,
                expiresAt: expiresAt, clientIP: origin?.clientIP,
                userAgent: origin?.userAgent))
        return family
    }

    private func tokenPair(
        for account: AccountRecord, session: UUID, refresh: OpaqueToken, at now: Date
    ) async throws -> TokenPair {
        TokenPair(
            accessToken: try await tokens.issue(
                accountID: account.id, role: account.role, sessionID: session, now: now),
            expiresIn: Int(tokens.lifetime.components.seconds),
            refreshToken: refresh.value
        )
    }

    /// The signed-in account, if it still exists, is active and is not disabled.
    func activeAccount(id: UUID) async throws -> AccountRecord {
        guard let account = try await store.withTransaction({ try await $0.account(id: id) }), account.isUsable
        else { throw PasswordChangeError(.accountGone) }
        return account
    }

    /// Checks `password` against `account`'s and returns the hash it was checked against;
    /// a wrong password is logged as `failureEvent` and answers `wrong_password`.
    func checkPassword(
        _ password: String, of account: AccountRecord, failureEvent: String, logger: Logger
    ) async throws -> String {
        guard let stored = account.passwordHash else { throw PasswordChangeError(.accountGone) }
        guard try await hasher.verify(password, against: stored) else {
            logger.info(
                "refused: wrong password",
                metadata: [
                    "event": "\(failureEvent)", "user_id": "\(account.id.lowercased)", "reason": "wrong_password",
                ])
            throw PasswordChangeError(.wrongPassword)
        }
        return stored
    }

    /// Inside `transaction`: ends every session of the account (sessions first, then the account
    /// row: the lock order every path keeps), then makes sure the password checked before the
    /// transaction is still the account's, so a change or reset that committed meanwhile wins
    /// and this one changes nothing. Returns the locked account, in its new session epoch.
    func endSessionsIfUnchanged(
        in transaction: any AccountTransaction, accountID: UUID, checkedHash: String, at now: Date
    ) async throws -> AccountRecord {
        try await transaction.endSessions(accountID: accountID, at: now)
        guard let locked = try await transaction.accountForSession(id: accountID), locked.isUsable,
            locked.passwordHash == checkedHash
        else { throw PasswordChangeError(.wrongPassword) }
        return locked
    }

    /// Changes the signed-in account's password, knowing the current one: every session of the
    /// account ends (the refresh-token families are revoked and the session epoch moves, as at a
    /// reset), the owner is told by email, and the caller gets a new session, so only the device
    /// that changed the password stays signed in. The new password meets `policy`.
    public func changePassword(
        accountID: UUID, current: String, new: String, policy: PasswordPolicy, signal: OutboxSignal,
        requestID: String?, logger: Logger
    ) async throws -> TokenPair {
        let account = try await activeAccount(id: accountID)
        let violations = policy.violations(password: new, email: EmailAddress(account.email))
        guard violations.isEmpty else { throw PasswordChangeError(.invalidPassword(violations)) }
        let checkedHash = try await checkPassword(
            current, of: account, failureEvent: "user.password_change_failed", logger: logger)
        let newHash = try await hasher.hash(new)
        let now = Date()
        let refresh = OpaqueToken.generate()
        let (changed, session) = try await store.withTransaction { transaction -> (AccountRecord, UUID) in
            let locked = try await endSessionsIfUnchanged(
                in: transaction, accountID: accountID, checkedHash: checkedHash, at: now)
            try await transaction.updatePasswordHash(accountID: accountID, passwordHash: newHash, at: now)
            try await transaction.enqueueEmail(
                OutboxEmail(
                    EmailTemplates.passwordChanged(keptOneSession: true), to: locked.email, at: now,
                    requestID: requestID))
            try await transaction.recordAudit(AuditEvent(.passwordChanged, account: accountID, at: now))
            return (locked, try await startFamily(in: transaction, refresh: refresh, for: locked, at: now))
        }
        signal.notify()
        logger.info(
            "password changed", metadata: ["event": "user.password_changed", "user_id": "\(accountID.lowercased)"])
        return try await tokenPair(for: changed, session: session, refresh: refresh, at: now)
    }

    /// Deletes the signed-in account, knowing its password: the account row goes with its links,
    /// sessions and reset tokens (personal data included), a confirmation goes to the address it
    /// had, and the address can register again. Access tokens already issued answer 401 from then
    /// on wherever the account is read (`/v1/me`); elsewhere they lapse within their lifetime.
    public func deleteAccount(
        accountID: UUID, password: String, signal: OutboxSignal, requestID: String?, logger: Logger
    ) async throws {
        let account = try await activeAccount(id: accountID)
        let checkedHash = try await checkPassword(
            password, of: account, failureEvent: "user.deletion_failed", logger: logger)
        let now = Date()
        try await store.withTransaction { transaction in
            let locked = try await endSessionsIfUnchanged(
                in: transaction, accountID: accountID, checkedHash: checkedHash, at: now)
            guard try await transaction.removeAccount(locked, by: .owner, at: now, requestID: requestID) else {
                throw PasswordChangeError(.accountGone)
            }
        }
        signal.notify()
        logger.info("account deleted", metadata: ["event": "user.deleted", "user_id": "\(accountID.lowercased)"])
    }

    private enum RefreshOutcome: Sendable {
        case rotated(AccountRecord, session: UUID)
        case reused(accountID: UUID)
        case refused
        case limited(retryAfter: Int)
    }

    /// Exchanges a refresh token for a new pair, rotating it.
    public func refresh(_ rawToken: String, logger: Logger) async throws -> TokenPair {
        guard let presented = OpaqueToken(parsing: rawToken) else { throw AuthError.invalidRefreshToken }
        let now = Date()
        let successor = OpaqueToken.generate()
        let rotation = RefreshRotation(
            presentedHash: presented.hash, successorHash: successor.hash, now: now,
            successorExpiry: now.addingTimeInterval(refreshTokenTTL.timeInterval), familyMaxAge: refreshTokenMaxAge,
            familyLimit: familyRefreshLimit)
        // The usual case at once where the store can; the steps otherwise, and to find out why not.
        let outcome: RefreshOutcome
        if let rotated = try await store.rotateRefreshTokenAtOnce(rotation) {
            outcome = .rotated(rotated.account, session: rotated.session)
        } else {
            outcome = try await rotateInSteps(rotation)
        }
        switch outcome {
        case .refused:
            throw AuthError.invalidRefreshToken
        case .limited(let retryAfter):
            throw RateLimitExceeded(retryAfter: retryAfter)
        case .reused(let accountID):
            logger.warning(
                "refresh token reused: token family revoked",
                metadata: ["event": "auth.refresh_reuse", "user_id": "\(accountID.lowercased)"]
            )
            throw AuthError.invalidRefreshToken
        case .rotated(let account, let session):
            return try await tokenPair(for: account, session: session, refresh: successor, at: now)
        }
    }

    /// The rotation as `AccountTransaction` steps: the reference behaviour, and the only path
    /// to every outcome other than a rotation. The reuse case must commit its revocation, so the
    /// transaction returns an outcome instead of throwing.
    private func rotateInSteps(_ rotation: RefreshRotation) async throws -> RefreshOutcome {
        let now = rotation.now
        return try await store.withTransaction { transaction in
            guard let record = try await transaction.lockRefreshToken(hash: rotation.presentedHash),
                record.revokedAt == nil
            else {
                return .refused
            }
            if record.rotatedAt != nil {
                try await transaction.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
                try await transaction.recordAudit(
                    AuditEvent(.refreshReuse, account: record.accountID, actor: .system, at: now))
                return .reused(accountID: record.accountID)
            }
            if let (limit, window) = rotation.familyLimit, let since = rotation.familyLimitSince,
                try await transaction.countRefreshTokens(familyID: record.familyID, since: since) > limit
            {
                return .limited(retryAfter: max(1, Int(window.timeInterval / Double(limit))))
            }
            let endOfFamily = rotation.endOfFamily(record.familyCreatedAt)
            guard record.expiresAt > now, endOfFamily > now,
                let account = try await transaction.accountForSession(id: record.accountID),
                account.isUsable
            else { return .refused }
            // A password change or reset since the family's login ended it, even if its
            // revocation missed this token (it was being rotated at that moment).
            guard account.sessionEpoch == record.sessionEpoch else {
                try await transaction.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
                return .refused
            }
            try await transaction.markRefreshTokenRotated(hash: rotation.presentedHash, at: now)
            let expiresAt = min(rotation.successorExpiry, endOfFamily)
            try await transaction.insertRefreshToken(
                NewRefreshToken(
                    tokenHash: rotation.successorHash,
                    accountID: account.id,
                    familyID: record.familyID,
                    createdAt: now,
                    expiresAt: expiresAt,
                    sessionEpoch: record.sessionEpoch,
                    familyCreatedAt: record.familyCreatedAt
                )
            )
            try await transaction.touchSession(id: record.familyID, at: now, expiresAt: expiresAt)
            return .rotated(account, session: record.familyID)
        }
    }

    /// Ends the session the refresh token belongs to: its whole family is revoked, so no
    /// copy of any of its tokens works any more. A token that was already rotated means a
    /// copy is in use (the owner logs out with a stale token, or a thief does): that is
    /// logged as reuse, like at refresh. Says nothing either way.
    public func logout(_ rawToken: String, logger: Logger) async throws {
        guard let presented = OpaqueToken(parsing: rawToken) else { return }
        let now = Date()
        let found = try await store.withTransaction { transaction -> RefreshTokenRecord? in
            guard let record = try await transaction.lockRefreshToken(hash: presented.hash) else { return nil }
            try await transaction.revokeRefreshTokenFamily(familyID: record.familyID, at: now)
            if record.rotatedAt != nil {
                try await transaction.recordAudit(
                    AuditEvent(.refreshReuse, account: record.accountID, actor: .system, at: now))
            }
            return record
        }
        if let found, found.rotatedAt != nil {
            logger.warning(
                "rotated refresh token presented at logout: token family revoked",
                metadata: ["event": "auth.refresh_reuse", "user_id": "\(found.accountID.lowercased)"])
        }
        logger.info("logout", metadata: ["event": "user.logout"])
    }

    /// The signed-in account's live sessions, most recently used first.
    public func sessions(of accountID: UUID) async throws -> [SessionRecord] {
        let now = Date()
        return try await store.withTransaction { try await $0.liveSessions(accountID: accountID, at: now) }
    }

    /// Ends one session of the signed-in account (signing that device out at its next refresh);
    /// false when the account has no such live session.
    public func endSession(_ sessionID: UUID, of accountID: UUID, logger: Logger) async throws -> Bool {
        let now = Date()
        let ended = try await store.withTransaction { transaction in
            guard try await transaction.endSession(id: sessionID, accountID: accountID, at: now) else { return false }
            try await transaction.recordAudit(
                AuditEvent(.sessionEnded, account: accountID, at: now, detail: ["session_id": sessionID.lowercased]))
            return true
        }
        if ended {
            logger.info(
                "session ended", metadata: ["event": "session.ended", "user_id": "\(accountID.lowercased)"])
        }
        return ended
    }
}
