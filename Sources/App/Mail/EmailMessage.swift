/// One email as handed to a transport.
public struct EmailMessage: Sendable {
    public let from: EmailAddress
    public let to: String
    public let subject: String
    public let textBody: String
    public let htmlBody: String

    public init(from: EmailAddress, to: String, subject: String, textBody: String, htmlBody: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.textBody = textBody
        self.htmlBody = htmlBody
    }
}
