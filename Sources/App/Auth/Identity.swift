import Foundation

/// Who made a request, as proven by a valid access token.
public struct Identity: Sendable, Equatable {
    public let accountID: UUID
    public let roles: Set<Role>
    /// The session the token was issued in, when it says.
    public let sessionID: UUID?

    public init(accountID: UUID, roles: Set<Role>, sessionID: UUID? = nil) {
        self.accountID = accountID
        self.roles = roles
        self.sessionID = sessionID
    }
}

extension Role {
    /// The roles an account with this role holds: an admin is also a user.
    var granted: [Role] {
        switch self {
        case .user: [.user]
        case .admin: [.user, .admin]
        }
    }
}
