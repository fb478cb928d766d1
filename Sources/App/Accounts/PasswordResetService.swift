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

    public init(
        store: any AccountStore,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        links: Links,
        signal: OutboxSignal,
        settings: AccountSettings
    ) {
        self.store = store
        self.hasher = hasher
        self.policy = policy
        self.links = links
        self.signal = signal
        self.settings = settings
    }

    /// Emails a reset link to an active account; silently nothing otherwise or within the cooldown.
    @discardableResult
    public func requestReset(
        for email: EmailAddress, idempotencyKey: IdempotencyKey? = nil, requestID: String?, logger: Logger
    ) async throws -> IdempotentOutcome {
        let now = Date()
        let token = OpaqueToken.generate()
        let key = idempotencyKey?.use(
            operation: "forgot", request: email.normalized, now: now, ttl: settings.idempotencyKeyTTL)
        let outcome: String = try await store.withTransaction { transaction in
            guard try await transaction.proceed(with: key) else { return "replayed" }
            guard let account = try await transaction.lockAccount(normalizedEmail: email.normalized),
                account.status == .active
            else { return "not_active" }
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
        if outcome == "sent" { signal.notify() }
        logger.info(
            "password reset requested", metadata: ["event": "user.password_reset_requested", "outcome": "\(outcome)"])
        return outcome == "replayed" ? .replayed : .performed
    }

    /// Checks a token without using it (for the built-in form).
    public func checkToken(_ rawToken: String) async throws(PasswordResetError) {
        _ = try await usableToken(rawToken)
    }

    /// Sets `password` for the account the token belongs to.
    public func reset(
        token rawToken: String, password: String, requestID: String?, logger: Logger
    )
        async throws(PasswordResetError)
    {
        let (token, account) = try await usableToken(rawToken)
        let violations = policy.violations(password: password, email: EmailAddress(account.email))
        guard violations.isEmpty else { throw PasswordResetError(.invalidPassword(violations)) }
        let passwordHash: String
        do {
            passwordHash = try await hasher.hash(password)
        } catch {
            throw PasswordResetError(.unavailable(error))
        }
        let now = Date()
        do {
            try await store.withTransaction { transaction in
                // Checked again under the row lock: two resets racing with one token, one wins.
                guard let record = try await transaction.lockPasswordResetToken(hash: token.hash) else {
                    throw PasswordResetError(.invalid)
                }
                try Self.check(record, now: now)
                try await transaction.markPasswordResetTokenUsed(hash: token.hash, at: now)
                try await transaction.updatePasswordHash(
                    accountID: record.accountID, passwordHash: passwordHash, at: now)
                try await transaction.revokeRefreshTokens(accountID: record.accountID, at: now)
                try await transaction.enqueueEmail(
                    OutboxEmail(EmailTemplates.passwordChanged(), to: account.email, at: now, requestID: requestID)
                )
            }
        } catch let error as PasswordResetError {
            throw error
        } catch {
            throw PasswordResetError(.unavailable(error))
        }
        signal.notify()
        logger.info(
            "password reset", metadata: ["event": "user.password_reset", "user_id": "\(account.id.lowercased)"])
    }

    private func usableToken(_ rawToken: String) async throws(PasswordResetError) -> (OpaqueToken, AccountRecord) {
        guard let token = OpaqueToken(parsing: rawToken) else { throw PasswordResetError(.invalid) }
        let now = Date()
        do {
            return try await store.withTransaction { transaction in
                guard let record = try await transaction.lockPasswordResetToken(hash: token.hash),
                    let account = try await transaction.account(id: record.accountID), account.status == .active
                else { throw PasswordResetError(.invalid) }
                try Self.check(record, now: now)
                return (token, account)
            }
        } catch let error as PasswordResetError {
            throw error
        } catch {
            throw PasswordResetError(.unavailable(error))
        }
    }

    private static func check(_ record: PasswordResetTokenRecord, now: Date) throws(PasswordResetError) {
        guard record.usedAt == nil else { throw PasswordResetError(.used) }
        guard record.expiresAt > now else { throw PasswordResetError(.expired) }
    }
}

/// Why a password reset did not happen.
public struct PasswordResetError: Error {
    enum Kind {
        /// Malformed, tampered or unknown token (400).
        case invalid
        /// Already used (410).
        case used
        /// Past its lifetime (410).
        case expired
        /// The new password breaks the policy (422).
        case invalidPassword([FieldViolation])
        /// The database failed (500).
        case unavailable(any Error)
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }
}
