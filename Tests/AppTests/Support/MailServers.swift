import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import App

/// The real mail servers `scripts/test` starts (`scripts/mail-test-servers.py`): aiosmtpd
/// SMTP servers, moto's SES, and a small API to read what they received.
struct MailServers: Decodable, Sendable {
    let plainPort: Int
    let starttlsPort: Int
    let tlsPort: Int
    let wronghostPort: Int
    let apiPort: Int
    let motoPort: Int
    let caFile: String
    let username: String
    let password: String
    let ecsToken: String

    enum CodingKeys: String, CodingKey {
        case plainPort = "plain_port", starttlsPort = "starttls_port", tlsPort = "tls_port"
        case wronghostPort = "wronghost_port", apiPort = "api_port", motoPort = "moto_port"
        case caFile = "ca_file", username, password, ecsToken = "ecs_token"
    }

    /// Read from the file `TEST_MAIL_SERVERS` names; tests fail (never skip) without it.
    static func running() throws -> MailServers {
        guard let path = ProcessInfo.processInfo.environment["TEST_MAIL_SERVERS"],
            let data = FileManager.default.contents(atPath: path)
        else {
            Issue.record("TEST_MAIL_SERVERS is not set: run the tests with scripts/test, which starts the mail servers")
            throw TestSetupError()
        }
        return try JSONDecoder().decode(MailServers.self, from: data)
    }

    /// A message as the server received it, parsed by Python's `email` package.
    struct Received: Decodable, Sendable {
        struct Part: Decodable, Sendable {
            let contentType: String
            let charset: String?
            let transferEncoding: String?
            let content: String

            enum CodingKeys: String, CodingKey {
                case contentType = "content_type", charset, transferEncoding = "transfer_encoding", content
            }
        }

        let envelopeFrom: String?
        let envelopeTo: [String]
        let headers: [String: String]
        let rawHeaders: String
        let contentType: String
        let parts: [Part]
        let defects: [String]
        let maxLineLength: Int
        let bareLF: Bool
        let sevenBit: Bool
        let tls: Bool?
        let authMechanism: String?
        let session: String?

        enum CodingKeys: String, CodingKey {
            case envelopeFrom = "envelope_from", envelopeTo = "envelope_to", headers, rawHeaders = "raw_headers"
            case contentType = "content_type", parts, defects, maxLineLength = "max_line_length", bareLF = "bare_lf"
            case sevenBit = "seven_bit", tls, authMechanism = "auth_mechanism", session
        }

        var text: String? { parts.first { $0.contentType == "text/plain" }?.content }
        var html: String? { parts.first { $0.contentType == "text/html" }?.content }
    }

    func smtpMessages(to address: String) async throws -> [Received] {
        try await get("/smtp?to=\(address)")
    }

    func sesMessages(to address: String) async throws -> [Received] {
        try await get("/ses?to=\(address)")
    }

    /// SMTP sessions that carried mail, per server name.
    func smtpSessions() async throws -> [String: Int] {
        try await get("/smtp-sessions")
    }

    func ecsFetches() async throws -> Int {
        struct Count: Decodable { let fetches: Int }
        let count: Count = try await get("/ecs-fetches")
        return count.fetches
    }

    var apiBase: String { "http://127.0.0.1:\(apiPort)" }

    private func get<Value: Decodable>(_ path: String) async throws -> Value {
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: apiBase + path), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 16 * 1024 * 1024)
        return try JSONDecoder().decode(Value.self, from: Data(buffer: body))
    }

    func smtp(
        _ server: KeyPath<MailServers, Int>, security: SMTPSettings.Security, authenticated: Bool = true,
        password: String? = nil
    ) -> SMTPSettings {
        SMTPSettings(
            host: "localhost",
            port: self[keyPath: server],
            security: security,
            username: authenticated ? username : nil,
            password: authenticated ? (password ?? self.password) : nil,
            caFile: security == .none ? nil : caFile,
            heloName: "registration-tests.example.test"
        )
    }
}

/// Runs `body` with `transport`, then shuts the transport down (its connections), also when
/// `body` throws.
func using<Transport: EmailTransport>(
    _ transport: Transport, _ body: (Transport) async throws -> Void
) async throws {
    do {
        try await body(transport)
    } catch {
        await transport.shutdown()
        throw error
    }
    await transport.shutdown()
}

/// A unique recipient address for one test, e.g. `reject-3f2a…@example.com`.
func uniqueAddress(_ prefix: String = "user") -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())@example.com"
}

/// An email like the service's verification email, with a link to find again.
func sampleMessage(to recipient: String, subject: String = "Confirm your email address") -> EmailMessage {
    let content = EmailTemplates.verification(
        link: "https://accounts.example.test/v1/verify?token=abc_DEF-123", validFor: .seconds(3600))
    return EmailMessage(
        from: EmailAddress("no-reply@example.test")!,
        fromName: "Example Accounts",
        replyTo: EmailAddress("support@example.test")!,
        to: recipient,
        subject: subject,
        textBody: content.text,
        htmlBody: content.html
    )
}

/// Expects `operation` to fail with an `EmailDeliveryError` of `kind`, and returns it.
@discardableResult
func expectDeliveryFailure(
    _ kind: EmailDeliveryError.Kind, sourceLocation: SourceLocation = #_sourceLocation,
    _ operation: () async throws -> Void
) async -> EmailDeliveryError? {
    do {
        try await operation()
        Issue.record("expected a \(kind) failure, but the email was accepted", sourceLocation: sourceLocation)
        return nil
    } catch let error as EmailDeliveryError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected an EmailDeliveryError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
