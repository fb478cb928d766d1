import Foundation

/// A refresh token about to be stored; all tokens rotated from one login share a family.
public struct NewRefreshToken: Sendable {
    public let tokenHash: Data
    public let accountID: UUID
    public let familyID: UUID
    public let createdAt: Date
    public let expiresAt: Date

    public init(tokenHash: Data, accountID: UUID, familyID: UUID, createdAt: Date, expiresAt: Date) {
        self.tokenHash = tokenHash
        self.accountID = accountID
        self.familyID = familyID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
