import Foundation

/// A refresh token about to be stored; all tokens rotated from one login share a family.
public struct NewRefreshToken: Sendable {
    public let tokenHash: Data
    public let accountID: UUID
    public let familyID: UUID
    public let createdAt: Date
    public let expiresAt: Date
    /// The account's session epoch when the family's login was checked.
    public let sessionEpoch: Int
    /// When the family's login happened (for the absolute lifetime).
    public let familyCreatedAt: Date

    public init(
        tokenHash: Data, accountID: UUID, familyID: UUID, createdAt: Date, expiresAt: Date, sessionEpoch: Int,
        familyCreatedAt: Date
    ) {
        self.tokenHash = tokenHash
        self.accountID = accountID
        self.familyID = familyID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.sessionEpoch = sessionEpoch
        self.familyCreatedAt = familyCreatedAt
    }
}
