import Foundation

/// An email waiting in the outbox, as written by a business transaction.
public struct OutboxEmail: Sendable {
    public let id: UUID
    /// The template it was rendered from, e.g. `verification`; for logs and metrics.
    public let kind: String
    public let recipient: String
    public let subject: String
    public let textBody: String
    public let htmlBody: String
    public let createdAt: Date
    /// The request that caused it, so the `email.sent` log line can be correlated.
    public let requestID: String?

    public init(
        id: UUID,
        kind: String,
        recipient: String,
        subject: String,
        textBody: String,
        htmlBody: String,
        createdAt: Date,
        requestID: String?
    ) {
        self.id = id
        self.kind = kind
        self.recipient = recipient
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.createdAt = createdAt
        self.requestID = requestID
    }
}

extension OutboxEmail {
    /// A new outbox email rendered from `content`, due at once.
    public init(_ content: EmailContent, to recipient: String, at date: Date, requestID: String?) {
        self.init(
            id: UUID(),
            kind: content.kind,
            recipient: recipient,
            subject: content.subject,
            textBody: content.text,
            htmlBody: content.html,
            createdAt: date,
            requestID: requestID
        )
    }
}
