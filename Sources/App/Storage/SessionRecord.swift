import Foundation

/// A session (a refresh-token family) as its owner sees it in the list of signed-in devices.
public struct SessionRecord: Sendable, Equatable {
    /// The family id of its refresh tokens.
    public let id: UUID
    public let accountID: UUID
    public let createdAt: Date
    public let lastUsedAt: Date
    /// When its newest refresh token expires: the session lapses then unless it is used.
    public let expiresAt: Date
    public let clientIP: String?
    public let userAgent: String?

    public init(
        id: UUID, accountID: UUID, createdAt: Date, lastUsedAt: Date, expiresAt: Date, clientIP: String?,
        userAgent: String?
    ) {
        self.id = id
        self.accountID = accountID
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.clientIP = clientIP
        self.userAgent = userAgent
    }
}
