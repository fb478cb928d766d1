import Foundation

/// A verification link's token, bound to the password of the registration that asked for it.
///
/// Keeping the password hash with the token (instead of on the pending account) means a
/// link activates exactly the password that was chosen together with it; see docs/SECURITY.md.
public struct NewVerificationToken: Sendable {
    public let tokenHash: Data
    public let accountID: UUID
    public let passwordHash: String
    public let createdAt: Date
    public let expiresAt: Date

    public init(tokenHash: Data, accountID: UUID, passwordHash: String, createdAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.accountID = accountID
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
