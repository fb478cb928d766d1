import Foundation

/// A requested change of address, stored until its link (sent to the new address) is opened.
public struct NewEmailChangeToken: Sendable {
    public let tokenHash: Data
    public let accountID: UUID
    /// The address the account had when the change was requested: the change applies only
    /// if it still has it.
    public let oldNormalizedEmail: String
    public let newEmail: EmailAddress
    public let createdAt: Date
    public let expiresAt: Date
}

public struct EmailChangeTokenRecord: Sendable, Equatable {
    public let accountID: UUID
    public let oldNormalizedEmail: String
    public let newEmail: String
    public let newNormalizedEmail: String
    public let expiresAt: Date
    public let usedAt: Date?
}
