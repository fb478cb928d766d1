import Foundation

/// A pending account about to be inserted.
public struct NewAccount: Sendable {
    public let id: UUID
    public let email: EmailAddress
    public let createdAt: Date

    public init(id: UUID, email: EmailAddress, createdAt: Date) {
        self.id = id
        self.email = email
        self.createdAt = createdAt
    }
}
