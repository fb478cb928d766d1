import Foundation

/// One email as handed to a transport.
public struct EmailMessage: Sendable {
    /// The outbox row's id; the `Message-ID` is derived from it, so a retried delivery carries
    /// the same id and mail clients can recognise a duplicate.
    public let id: UUID
    public let from: EmailAddress
    /// Display name of the sender (`EMAIL_FROM_NAME`), any Unicode text.
    public let fromName: String?
    public let replyTo: EmailAddress?
    public let to: String
    public let subject: String
    public let textBody: String
    public let htmlBody: String
    /// The `Date` header: when the email was queued.
    public let date: Date

    public init(
        id: UUID = UUID(),
        from: EmailAddress,
        fromName: String? = nil,
        replyTo: EmailAddress? = nil,
        to: String,
        subject: String,
        textBody: String,
        htmlBody: String,
        date: Date = Date()
    ) {
        self.id = id
        self.from = from
        self.fromName = fromName
        self.replyTo = replyTo
        self.to = to
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
        self.date = date
    }

    /// `<id@sender-domain>`: unique, stable across retries, under the sender's own domain.
    public var messageID: String {
        let domain = from.normalized[from.normalized.index(after: from.normalized.lastIndex(of: "@")!)...]
        return "<\(id.uuidString.lowercased())@\(domain)>"
    }

    /// Refuses a subject or sender name holding CR, LF or another control character (checked
    /// when they entered, and again here, before any transport builds a header from them).
    func validateHeaderValues() throws(EmailDeliveryError) {
        for (name, value) in [("subject", subject), ("sender name", fromName ?? "")]
        where value.unicodeScalars.contains(where: MIMEMessage.isForbiddenInHeader) {
            throw EmailDeliveryError(.permanent, "the \(name) contains a control character")
        }
    }

    /// The recipient as a validated address; a permanent failure otherwise, so nothing a
    /// database row holds can reach a header unchecked.
    func validatedRecipient() throws(EmailDeliveryError) -> EmailAddress {
        guard let address = EmailAddress(to), address.value == to else {
            throw EmailDeliveryError(.permanent, "the recipient is not a plain email address")
        }
        return address
    }
}
