import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import App

/// The SES transport against moto in server mode (the SES v2 HTTP API, signed with SigV4),
/// with the ECS container credentials endpoint played by the test servers.
@Suite("Amazon SES transport")
struct SESTransportTests {
    let servers: MailServers

    init() throws {
        servers = try MailServers.running()
    }

    private var fixed: AWSCredentialSource {
        .fixed(AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
    }

    private func withTransport(
        _ credentials: AWSCredentialSource, region: String = "us-east-1", _ body: (SESTransport) async throws -> Void
    ) async throws {
        let settings = SESSettings(
            region: region, credentials: credentials, endpoint: URL(string: "http://127.0.0.1:\(servers.motoPort)")!,
            configurationSet: nil)
        // A bound, not a timing assertion: moto is Python, and the machine may be busy.
        let transport = SESTransport(settings: settings, maxConnections: 4, timeout: .seconds(30))
        try await using(transport, body)
    }

    private func containerSource(ttl: Int, token: String? = nil) -> AWSCredentialSource {
        .container(
            url: URL(string: "\(servers.apiBase)/ecs-credentials?ttl=\(ttl)")!,
            authorizationToken: token ?? servers.ecsToken)
    }

    @Test("a message sent through the signed SES v2 API arrives in SES's record, raw MIME intact")
    func delivered() async throws {
        let address = uniqueAddress()
        try await withTransport(fixed) { transport in
            try await transport.check()
            try await transport.send(sampleMessage(to: address))
        }
        let received = try await servers.sesMessages(to: address)
        try #require(received.count == 1)
        let message = received[0]
        #expect(message.contentType == "multipart/alternative")
        #expect(message.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(message.text?.contains("https://accounts.example.test/v1/verify?token=abc_DEF-123") == true)
        #expect(message.headers["reply-to"] == "support@example.test")
        #expect(message.headers["from"] == "Example Accounts <no-reply@example.test>")
        #expect(message.defects.isEmpty)
    }

    @Test("MessageRejected (a sender SES has not verified) is a permanent failure")
    func rejected() async throws {
        let address = uniqueAddress()
        try await withTransport(fixed) { transport in
            let message = EmailMessage(
                from: EmailAddress("no-reply@unverified.test")!, to: address, subject: "s", textBody: "t", htmlBody: "h"
            )
            let error = await expectDeliveryFailure(.permanent) { try await transport.send(message) }
            #expect(error?.safeDescription == "SES HTTP 400 MessageRejected")
        }
        #expect(try await servers.sesMessages(to: address).isEmpty)
    }

    @Test("task role credentials come from the container endpoint, fetched once while they are fresh")
    func containerCredentials() async throws {
        let address = uniqueAddress()
        let before = try await servers.ecsFetches()
        try await withTransport(containerSource(ttl: 3600), region: "eu-west-1") { transport in
            try await transport.send(sampleMessage(to: address))
            try await transport.send(sampleMessage(to: address))
        }
        #expect(try await servers.sesMessages(to: address).count == 2)
        // Other tests fetch too; this transport fetched at least once and reused what it got.
        #expect(try await servers.ecsFetches() - before >= 1)
    }

    @Test("credentials within five minutes of expiry are fetched again before use")
    func refreshedBeforeExpiry() async throws {
        let provider = AWSCredentialProvider(source: containerSource(ttl: 240), client: HTTPClient.shared)
        let first = try await provider.credentials()
        let second = try await provider.credentials()
        #expect(first.sessionToken != nil)
        #expect(first.accessKeyID != second.accessKeyID)

        let fresh = AWSCredentialProvider(source: containerSource(ttl: 3600), client: HTTPClient.shared)
        let a = try await fresh.credentials()
        let b = try await fresh.credentials()
        #expect(a == b)
    }

    @Test("an endpoint that refuses the authorization token gives no credentials: transient, retried")
    func endpointRefuses() async throws {
        try await withTransport(containerSource(ttl: 3600, token: "wrong")) { transport in
            await expectDeliveryFailure(.transient) { try await transport.send(sampleMessage(to: uniqueAddress())) }
        }
    }

    @Test(
        "SES error answers are classified as AWS documents them",
        arguments: [
            (400, "MessageRejected", EmailDeliveryError.Kind.permanent),
            (400, "MailFromDomainNotVerifiedException", .permanent),
            (400, "BadRequestException", .permanent),
            (429, "TooManyRequestsException", .transient),
            (400, "LimitExceededException", .transient),
            (500, "InternalFailure", .transient),
            (503, "ServiceUnavailable", .transient),
            (403, "UnrecognizedClientException", .configuration),
            (403, "SignatureDoesNotMatch", .configuration),
            (400, "AccountSuspendedException", .configuration),
            (400, "SendingPausedException", .configuration),
        ])
    func classification(status: Int, code: String, kind: EmailDeliveryError.Kind) {
        var headers = HTTPHeaders()
        headers.add(name: "X-Amzn-ErrorType", value: "\(code):http://internal.amazon.com/coral/com.amazonaws.sesv2/")
        headers.add(name: "Retry-After", value: "3")
        let response = ProviderResponse(
            status: status, headers: headers, body: ByteBuffer(string: "{\"message\":\"x\"}"))
        let failure = SESTransport.classify(response)
        #expect(failure?.code == code)
        #expect(failure?.error.kind == kind)
        if kind == .transient { #expect(failure?.error.retryAfter == .seconds(3)) }
    }

    @Test("a 200 is success")
    func success() {
        #expect(SESTransport.classify(ProviderResponse(status: 200, headers: [:], body: ByteBuffer())) == nil)
    }
}
