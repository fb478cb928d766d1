import Foundation

/// A stored verification token together with the state of its account.
public struct VerificationTokenRecord: Sendable {
    public let accountID: UUID
    public let accountStatus: AccountStatus
    /// Nil once the token was used.
    public let passwordHash: String?
    public let expiresAt: Date
    public let usedAt: Date?

    public init(accountID: UUID, accountStatus: AccountStatus, passwordHash: String?, expiresAt: Date, usedAt: Date?) {
        self.accountID = accountID
        self.accountStatus = accountStatus
        self.passwordHash = passwordHash
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}
