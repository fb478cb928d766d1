import Foundation

/// A resend or forgot request as recorded by the endpoint, before anyone looked at the
/// address: the same row whether or not the address has an account.
public struct EmailRequest: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case resend
        case forgot
    }

    public let id: UUID
    public let kind: Kind
    /// The address as the request gave it (validated).
    public let email: String
    public let requestID: String?
    public let createdAt: Date

    public init(id: UUID, kind: Kind, email: String, requestID: String?, createdAt: Date) {
        self.id = id
        self.kind = kind
        self.email = email
        self.requestID = requestID
        self.createdAt = createdAt
    }
}
