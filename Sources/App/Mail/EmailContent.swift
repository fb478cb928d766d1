/// The subject and both bodies of an email, rendered from a template.
public struct EmailContent: Sendable {
    public let kind: String
    public let subject: String
    public let text: String
    public let html: String
}
