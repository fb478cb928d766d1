import Foundation

/// A stored password reset token's state.
public struct PasswordResetTokenRecord: Sendable {
    public let accountID: UUID
    public let expiresAt: Date
    public let usedAt: Date?

    public init(accountID: UUID, expiresAt: Date, usedAt: Date?) {
        self.accountID = accountID
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}
