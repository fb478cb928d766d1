import Foundation

/// An idempotency key as stored: hashes only, and when it may be forgotten.
public struct IdempotencyKeyUse: Sendable {
    public let keyHash: Data
    public let fingerprint: Data
    public let createdAt: Date
    public let expiresAt: Date

    public init(keyHash: Data, fingerprint: Data, createdAt: Date, expiresAt: Date) {
        self.keyHash = keyHash
        self.fingerprint = fingerprint
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What recording an idempotency key found.
public enum IdempotencyKeyClaim: Sendable, Equatable {
    /// Not seen within its lifetime: recorded now, with the request's effects.
    case first
    /// Seen for the same request: its effects are committed already.
    case repeated
    /// Seen for a different request.
    case reusedForAnotherRequest
}
