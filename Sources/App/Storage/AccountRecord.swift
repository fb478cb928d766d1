import Foundation

/// An account as stored.
public struct AccountRecord: Sendable, Equatable {
    public let id: UUID
    public let email: String
    public let status: AccountStatus
    public let role: Role
    /// Nil while pending: a pending account has no password (see docs/SECURITY.md).
    public let passwordHash: String?
    public let createdAt: Date
    public let verifiedAt: Date?
    /// Moves at every password change or reset; a session made in another epoch is over.
    public let sessionEpoch: Int
    /// When an administrator or operator disabled the account; nil when it is not disabled.
    public let disabledAt: Date?

    public init(
        id: UUID,
        email: String,
        status: AccountStatus,
        role: Role,
        passwordHash: String?,
        createdAt: Date,
        verifiedAt: Date?,
        sessionEpoch: Int = 0,
        disabledAt: Date? = nil
    ) {
        self.id = id
        self.email = email
        self.status = status
        self.role = role
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.verifiedAt = verifiedAt
        self.sessionEpoch = sessionEpoch
        self.disabledAt = disabledAt
    }

    /// Verified and not disabled: the only state in which the account can sign in.
    public var isUsable: Bool { status == .active && disabledAt == nil }
}
