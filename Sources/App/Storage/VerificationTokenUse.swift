import Foundation

/// What using a verification token did (`AccountStore.useVerificationToken`).
public enum VerificationTokenUse: Sendable, Equatable {
    /// No such token, or one that was used and carries no password any more.
    case unknown
    /// The token's account is active already; nothing changed.
    case alreadyActive(accountID: UUID)
    /// The account is pending and the token past its lifetime; nothing changed.
    case expired
    /// The account is now active with the token's password.
    case activated(accountID: UUID)
    /// The account is pending and another registration with another password is waiting too:
    /// the link proves the inbox, not which registration is the owner's, so it activates only
    /// with the password chosen at its registration (`passwordChecked`). Nothing changed.
    case passwordRequired(accountID: UUID)
}

extension AccountStore {
    /// Uses a verification token in one transaction: with its account pending and the token
    /// valid, activates the account with the password bound to the token, marks the token used
    /// (dropping its copy of the hash), deletes the account's other verification tokens and
    /// records the verification in the audit trail. Unless `passwordChecked` (the caller verified the password of the token's registration),
    /// a rival registration leaves everything as it is and answers `.passwordRequired`.
    ///
    /// The default runs the `AccountTransaction` steps; a store may do the same in fewer round
    /// trips (PostgreSQL does it in one statement).
    public func useVerificationTokenInSteps(
        hash: Data, at now: Date, passwordChecked: Bool
    ) async throws -> VerificationTokenUse {
        try await withTransaction { transaction in
            guard let record = try await transaction.lockVerificationToken(hash: hash) else { return .unknown }
            if record.accountStatus == .active { return .alreadyActive(accountID: record.accountID) }
            guard record.expiresAt > now else { return .expired }
            guard let passwordHash = record.passwordHash else { return .unknown }
            if !passwordChecked,
                try await transaction.hasRivalRegistration(
                    accountID: record.accountID, passwordHash: passwordHash, at: now)
            {
                return .passwordRequired(accountID: record.accountID)
            }
            try await transaction.activateAccount(
                id: record.accountID, passwordHash: passwordHash, usingToken: hash, at: now)
            try await transaction.recordAudit(AuditEvent(.verified, account: record.accountID, at: now))
            return .activated(accountID: record.accountID)
        }
    }
}
