import AsyncHTTPClient
import Foundation
import NIOCore

/// Sends through SendGrid's v3 Mail Send API (`POST /v3/mail/send`, bearer API key).
public final class SendGridTransport: EmailTransport {
    public var name: String { "sendgrid" }
    private let settings: SendGridSettings
    private let client: HTTPClient
    private let timeout: Duration

    public init(settings: SendGridSettings, maxConnections: Int, timeout: Duration) {
        self.settings = settings
        self.timeout = timeout
        client = HTTPClient.forEmailProvider(maxConnections: maxConnections)
    }

    public func send(_ message: EmailMessage) async throws {
        let payload = Array(try JSONSerialization.data(withJSONObject: try Self.body(message), options: [.sortedKeys]))
        var request = HTTPClientRequest(url: settings.endpoint.appendingPathComponent("v3/mail/send").absoluteString)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(settings.apiKey)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response = try await ProviderResponse.fetch(request, on: client, timeout: timeout, provider: "SendGrid")
        if let failure = Self.classify(response) { throw failure }
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// The v3 request body: one personalization, text then HTML content, our Message-ID.
    static func body(_ message: EmailMessage) throws(EmailDeliveryError) -> [String: Any] {
        let recipient = try message.validatedRecipient()
        try message.validateHeaderValues()
        var from: [String: Any] = ["email": message.from.value]
        if let name = message.fromName, !name.isEmpty { from["name"] = name }
        var body: [String: Any] = [
            "personalizations": [["to": [["email": recipient.value]]]],
            "from": from,
            "subject": message.subject,
            "content": [
                ["type": "text/plain", "value": message.textBody],
                ["type": "text/html", "value": message.htmlBody],
            ],
            "headers": ["Message-ID": message.messageID],
        ]
        if let replyTo = message.replyTo { body["reply_to"] = ["email": replyTo.value] }
        return body
    }

    static func classify(_ response: ProviderResponse) -> EmailDeliveryError? {
        let status = response.status
        guard !(200..<300).contains(status) else { return nil }
        var text = "SendGrid HTTP \(status)"
        // The first error's field names what was wrong without quoting the message.
        if let errors = response.json?["errors"] as? [[String: Any]], let field = errors.first?["field"] as? String,
            field.utf8.count <= 100
        {
            text += " (field \(field))"
        }
        switch status {
        case 401, 403:
            return EmailDeliveryError(
                .configuration, "\(text): SendGrid refused the API key (SENDGRID_API_KEY) or its permissions")
        case 429, 500...:
            return EmailDeliveryError(
                .transient, text, retryAfter: response.retryAfter ?? Self.rateLimitReset(response))
        default:
            return EmailDeliveryError(.permanent, text)
        }
    }

    /// SendGrid's own rate-limit header: the epoch second the limit resets.
    private static func rateLimitReset(_ response: ProviderResponse) -> Duration? {
        guard let raw = response.headers.first(name: "x-ratelimit-reset"), let epoch = Double(raw) else { return nil }
        return .seconds(min(3600, max(0, Int((epoch - Date().timeIntervalSince1970).rounded(.up)))))
    }
}
