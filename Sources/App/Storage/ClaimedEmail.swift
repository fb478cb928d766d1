import Foundation

/// An outbox email reserved by one worker for one delivery attempt.
public struct ClaimedEmail: Sendable {
    public let email: OutboxEmail
    /// Attempts so far, including this one.
    public let attempt: Int

    public init(email: OutboxEmail, attempt: Int) {
        self.email = email
        self.attempt = attempt
    }
}
