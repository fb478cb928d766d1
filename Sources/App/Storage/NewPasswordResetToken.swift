import Foundation

/// A password reset link's token about to be stored.
public struct NewPasswordResetToken: Sendable {
    public let tokenHash: Data
    public let accountID: UUID
    public let createdAt: Date
    public let expiresAt: Date

    public init(tokenHash: Data, accountID: UUID, createdAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.accountID = accountID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
