import AsyncHTTPClient
import Foundation
import NIOCore

/// Sends through Amazon SES v2 `SendEmail` (`POST /v2/email/outbound-emails`) as a raw MIME
/// message, so both parts, the `Message-ID` and `Reply-To` are exactly ours; signed with
/// Signature Version 4.
public final class SESTransport: EmailTransport {
    public var name: String { "ses" }
    private let settings: SESSettings
    private let client: HTTPClient
    private let credentials: AWSCredentialProvider
    private let timeout: Duration

    public init(settings: SESSettings, maxConnections: Int, timeout: Duration) {
        self.settings = settings
        self.timeout = timeout
        client = HTTPClient.forEmailProvider(maxConnections: maxConnections)
        credentials = AWSCredentialProvider(source: settings.credentials, client: client)
    }

    public func send(_ message: EmailMessage) async throws {
        let recipient = try message.validatedRecipient()
        let raw = try MIMEMessage.render(message)
        var body: [String: Any] = [
            "FromEmailAddress": message.from.value,
            "Destination": ["ToAddresses": [recipient.value]],
            "Content": ["Raw": ["Data": Data(raw.utf8).base64EncodedString()]],
        ]
        if let set = settings.configurationSet { body["ConfigurationSetName"] = set }
        let payload = Array(try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let response = try await post(payload, credentials: try await credentials.credentials())
        if let failure = Self.classify(response) {
            if failure.code == "ExpiredTokenException", case .container = settings.credentials {
                // The role's credentials rotated early: fetch new ones now, and retry soon.
                _ = try? await credentials.credentials(forceRefresh: true)
                throw EmailDeliveryError(.transient, "SES: the session token had expired; refreshed")
            }
            throw failure.error
        }
    }

    /// Start-up check: credentials can be had (from the environment or the task role).
    public func check() async throws {
        _ = try await credentials.credentials()
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    private func post(_ payload: [UInt8], credentials: AWSCredentials) async throws -> ProviderResponse {
        let url = settings.endpoint.appendingPathComponent("v2/email/outbound-emails")
        let signer = AWSSigner(credentials: credentials, region: settings.region, service: "ses")
        let headers = [("content-type", "application/json")]
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        for (name, value) in signer.sign(method: "POST", url: url, headers: headers, payload: payload, date: Date()) {
            request.headers.add(name: name, value: value)
        }
        request.body = .bytes(ByteBuffer(bytes: payload))
        return try await ProviderResponse.fetch(request, on: client, timeout: timeout, provider: "SES")
    }

    /// Nil for success; otherwise SES's error code and what the outbox should do.
    static func classify(_ response: ProviderResponse) -> (code: String, error: EmailDeliveryError)? {
        guard !(200..<300).contains(response.status) else { return nil }
        // REST-JSON errors name their type in a header (`MessageRejected:http://…`) or the body.
        var code =
            response.headers.first(name: "x-amzn-errortype")
            ?? (response.json?["__type"] as? String) ?? (response.json?["code"] as? String) ?? ""
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        let text = "SES HTTP \(response.status)\(code.isEmpty ? "" : " \(code)")"
        let throttled = ["TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"]
        let credentials = [
            "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDeniedException",
            "AccessDenied", "IncompleteSignature", "InvalidSignatureException", "MissingAuthenticationToken",
            "ExpiredTokenException", "NotAuthorized",
        ]
        let accountBlocked = ["AccountSuspendedException", "SendingPausedException"]
        let kind: EmailDeliveryError.Kind
        if response.status == 429 || throttled.contains(code) || response.status >= 500 {
            kind = .transient
        } else if [401, 403].contains(response.status) || credentials.contains(code) {
            return (
                code,
                EmailDeliveryError(
                    .configuration, "\(text): AWS refused the credentials or their permissions (ses:SendRawEmail)")
            )
        } else if accountBlocked.contains(code) {
            return (
                code, EmailDeliveryError(.configuration, "\(text): sending is paused or suspended for this AWS account")
            )
        } else {
            kind = .permanent
        }
        return (code, EmailDeliveryError(kind, text, retryAfter: response.retryAfter))
    }
}

extension HTTPClient {
    /// A client for one email provider: keep-alive connections up to the outbox's concurrency,
    /// redirects refused (a provider never redirects an API call; following one would send
    /// the credentials elsewhere).
    static func forEmailProvider(maxConnections: Int) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
        configuration.timeout = .init(connect: .seconds(5))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
