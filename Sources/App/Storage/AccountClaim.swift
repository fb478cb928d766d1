import Foundation

/// The account that owns an address after an insert-if-absent: the new one, or the one that was there.
public struct AccountClaim: Sendable, Equatable {
    public let id: UUID
    public let status: AccountStatus
    /// True when this call created the account.
    public let created: Bool

    public init(id: UUID, status: AccountStatus, created: Bool) {
        self.id = id
        self.status = status
        self.created = created
    }
}
