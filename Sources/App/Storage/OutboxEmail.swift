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
    /// The W3C `traceparent` of the (sampled) request that queued it: the delivery's span links to it.
    public let traceParent: String?

    public init(
        id: UUID,
        kind: String,
        recipient: String,
        subject: String,
        textBody: String,
        htmlBody: String,
        createdAt: Date,
        requestID: String?,
        traceParent: String? = TraceParent.current
    ) {
        self.id = id
        self.kind = kind
        self.recipient = recipient
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.createdAt = createdAt
        self.requestID = requestID
        self.traceParent = traceParent
    }
}

extension OutboxEmail {
    /// Runs `insert` (the statement that writes this email) as the span `outbox.enqueue`, with
    /// the email's id and kind (never its address or content).
    func enqueued(_ insert: () async throws -> Void) async throws {
        try await Spans.run("outbox.enqueue") { span in
            span?.attributes["email.id"] = id.lowercased
            span?.attributes["email.kind"] = kind
            try await insert()
        }
    }

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
