import Foundation

/// A stored refresh token's state.
public struct RefreshTokenRecord: Sendable {
    public let accountID: UUID
    public let familyID: UUID
    public let expiresAt: Date
    /// Set when the token was exchanged for a new one; presenting it again signals theft.
    public let rotatedAt: Date?
    public let revokedAt: Date?
    /// The account's session epoch the family was made in.
    public let sessionEpoch: Int
    /// When the family's login happened.
    public let familyCreatedAt: Date

    public init(
        accountID: UUID, familyID: UUID, expiresAt: Date, rotatedAt: Date?, revokedAt: Date?, sessionEpoch: Int,
        familyCreatedAt: Date
    ) {
        self.accountID = accountID
        self.familyID = familyID
        self.expiresAt = expiresAt
        self.rotatedAt = rotatedAt
        self.revokedAt = revokedAt
        self.sessionEpoch = sessionEpoch
        self.familyCreatedAt = familyCreatedAt
    }
}
