import Foundation
import Logging

/// "Forgot password" and the reset that follows it.
///
/// Reset tokens are 256-bit, stored as SHA-256, single-use, valid for
/// `PASSWORD_RESET_TOKEN_TTL`, and a new one invalidates the earlier unused ones. A reset
/// sets the password, revokes every refresh token of the account (every session ends) and
/// tells the owner by email.
public struct PasswordResetService: Sendable {
    let store: any AccountStore
    let hasher: PasswordHasher
    let policy: PasswordPolicy
    let links: Links
    let signal: OutboxSignal
    let settings: AccountSettings
    /// Sends a pending account's verification link instead of a reset link.
    let registration: RegistrationService?

    public init(
        store: any AccountStore,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        links: Links,
        signal: OutboxSignal,
        settings: AccountSettings,
        registration: RegistrationService? = nil
    ) {
        self.registration = registration
        self.store = store
        self.hasher = hasher
        self.policy = policy
        self.links = links
        self.signal = signal
        self.settings = settings
    }

    /// Emails a reset link to an active account, a new verification link to a pending one (its
    /// owner never confirmed the address and cannot log in); silently nothing for an unknown
    /// address or within the cooldown.
    ///
    /// The request only records itself (`EmailRequest`), the same single insert whatever the
    /// address; `EmailRequestResolver` does the rest (`resolveForgot`). So neither the answer
    /// nor its timing depends on whether the address has an account.
    @discardableResult
    public func requestReset(
        for email: EmailAddress, idempotencyKey: IdempotencyKey? = nil, requestID: String?, logger: Logger
    ) async throws -> IdempotentOutcome {
        let now = Date()
        let key = idempotencyKey?.use(
            operation: "forgot", request: email.normalized, now: now, ttl: settings.idempotencyKeyTTL)
        let recorded = try await store.withTransaction { transaction in
            guard try await transaction.proceed(with: key) else { return false }
            try await transaction.insertEmailRequest(
                EmailRequest(id: UUID(), kind: .forgot, email: email.value, requestID: requestID, createdAt: now))
            return true
        }
        guard recorded else { return .replayed }
        registration?.requests?.notify()
        logger.info("password reset requested", metadata: ["event": "user.password_reset_requested"])
        return .performed
    }

    /// Inside `transaction`: what a forgot request for `email` leads to. Returns "sent",
    /// "cooldown", "unknown", or "verification_…" for a pending account.
    func resolveForgot(
        in transaction: any AccountTransaction, email: EmailAddress, now: Date, requestID: String?
    ) async throws -> String {
        let token = OpaqueToken.generate()
        guard let account = try await transaction.lockAccount(normalizedEmail: email.normalized) else {
            return "unknown"
        }
        // Disabled: no reset (it would not let the owner in), and the same answer as ever.
        guard account.disabledAt == nil else { return "disabled" }
        guard account.status == .active else {
            // Never verified: a reset cannot help, a fresh verification link can.
            guard let registration else { return "not_active" }
            let sent = try await registration.queueVerificationLink(
                in: transaction, to: email, now: now, requestID: requestID)
            return "verification_\(sent)"
        }
        if let latest = try await transaction.latestPasswordResetTokenCreatedAt(accountID: account.id),
            now.timeIntervalSince(latest) < settings.emailCooldown.timeInterval
        {
            return "cooldown"
        }
        try await transaction.deleteUnusedPasswordResetTokens(accountID: account.id)
        try await transaction.insertPasswordResetToken(
            NewPasswordResetToken(
                tokenHash: token.hash,
                accountID: account.id,
                createdAt: now,
                expiresAt: now.addingTimeInterval(settings.passwordResetTokenTTL.timeInterval)
            )
        )
        let content = EmailTemplates.passwordReset(
            link: links.passwordReset(token),
            validFor: settings.passwordResetTokenTTL
        )
        try await transaction.enqueueEmail(OutboxEmail(content, to: account.email, at: now, requestID: requestID))
        return "sent"
    }

    /// Checks a token without using it (for the built-in form).
    public func checkToken(_ rawToken: String) async throws {
        _ = try await usableToken(rawToken)
    }

    /// Sets `password` for the account the token belongs to; returns the account's address.
    @discardableResult
    public func reset(
        token rawToken: String, password: String, requestID: String?, logger: Logger
    ) async throws -> EmailAddress? {
        let (token, account) = try await usableToken(rawToken)
        let violations = policy.violations(password: password, email: EmailAddress(account.email))
        guard violations.isEmpty else { throw PasswordResetError(.invalidPassword(violations)) }
        let passwordHash = try await hasher.hash(password)
        let now = Date()
        try await store.withTransaction { transaction in
            // Checked again under the row lock: two resets racing with one token, one wins.
            guard let record = try await transaction.lockPasswordResetToken(hash: token.hash) else {
                throw PasswordResetError(.invalid)
            }
            try Self.check(record, now: now)
            try await transaction.markPasswordResetTokenUsed(hash: token.hash, at: now)
            // Sessions first: refresh tokens are always locked before the account row (a
            // refresh locks its token, then shares the account), so the two never deadlock.
            try await transaction.endSessions(accountID: record.accountID, at: now)
            try await transaction.updatePasswordHash(
                accountID: record.accountID, passwordHash: passwordHash, at: now)
            try await transaction.enqueueEmail(
                OutboxEmail(EmailTemplates.passwordChanged(), to: account.email, at: now, requestID: requestID)
            )
            try await transaction.recordAudit(AuditEvent(.passwordReset, account: record.accountID, at: now))
        }
        signal.notify()
        logger.info(
            "password reset", metadata: ["event": "user.password_reset", "user_id": "\(account.id.lowercased)"])
        return EmailAddress(account.email)
    }

    private func usableToken(_ rawToken: String) async throws -> (OpaqueToken, AccountRecord) {
        guard let token = OpaqueToken(parsing: rawToken) else { throw PasswordResetError(.invalid) }
        let now = Date()
        return try await store.withTransaction { transaction in
            guard let record = try await transaction.lockPasswordResetToken(hash: token.hash),
                let account = try await transaction.account(id: record.accountID), account.isUsable
            else { throw PasswordResetError(.invalid) }
            try Self.check(record, now: now)
            return (token, account)
        }
    }

    private static func check(_ record: PasswordResetTokenRecord, now: Date) throws(PasswordResetError) {
        guard record.usedAt == nil else { throw PasswordResetError(.used) }
        guard record.expiresAt > now else { throw PasswordResetError(.expired) }
    }
}
