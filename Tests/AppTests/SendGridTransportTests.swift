import Foundation
import Testing

@testable import App

/// The SendGrid transport against a local server that holds it to the v3 Mail Send contract.
@Suite("SendGrid transport")
struct SendGridTransportTests {
    private func withTransport(
        apiKey: String = SendGridContractServer.apiKey,
        _ body: @Sendable @escaping (SendGridTransport, SendGridContractServer) async throws -> Void
    ) async throws {
        let server = SendGridContractServer()
        try await server.run { url in
            let transport = SendGridTransport(
                settings: SendGridSettings(apiKey: apiKey, endpoint: url), maxConnections: 4, timeout: .seconds(10))
            try await using(transport) { try await body($0, server) }
        }
        #expect(server.violations.withLockedValue { $0 } == [])
    }

    @Test("a message is accepted (202) with a body that meets the published contract")
    func accepted() async throws {
        try await withTransport { transport, server in
            let message = sampleMessage(to: "ada@example.com", subject: "Bestätigen — 確認")
            try await transport.send(message)
            let bodies = server.accepted
            try #require(bodies.count == 1)
            let body = bodies[0]
            #expect(
                (body["from"] as? [String: String]) == ["email": "no-reply@example.test", "name": "Example Accounts"])
            #expect((body["reply_to"] as? [String: String]) == ["email": "support@example.test"])
            #expect(body["subject"] as? String == "Bestätigen — 確認")
            let content = body["content"] as? [[String: String]] ?? []
            #expect(content.map { $0["type"] } == ["text/plain", "text/html"])
            #expect(content.first?["value"]?.contains("token=abc_DEF-123") == true)
            #expect((body["headers"] as? [String: String])?["Message-ID"] == message.messageID)
        }
    }

    @Test(
        "failures are classified by status",
        arguments: [
            ("status-400", EmailDeliveryError.Kind.permanent), ("status-500", .transient),
            ("status-401", .configuration),
        ])
    func classified(prefix: String, kind: EmailDeliveryError.Kind) async throws {
        try await withTransport { transport, _ in
            await expectDeliveryFailure(kind) { try await transport.send(sampleMessage(to: uniqueAddress(prefix))) }
        }
    }

    @Test("429 is transient and carries the provider's Retry-After")
    func rateLimited() async throws {
        try await withTransport { transport, _ in
            let error = await expectDeliveryFailure(.transient) {
                try await transport.send(sampleMessage(to: uniqueAddress("status-429")))
            }
            #expect(error?.retryAfter == .seconds(7))
        }
    }

    @Test("a refused API key is a configuration failure that does not quote the key")
    func wrongKey() async throws {
        try await withTransport(apiKey: "SG.wrong") { transport, _ in
            let error = await expectDeliveryFailure(.configuration) {
                try await transport.send(sampleMessage(to: "ada@example.com"))
            }
            #expect(error?.safeDescription.contains("SG.wrong") == false)
        }
    }

    @Test("the 400 reason names the field, never the message")
    func badRequestNamesField() async throws {
        try await withTransport { transport, _ in
            let error = await expectDeliveryFailure(.permanent) {
                try await transport.send(sampleMessage(to: uniqueAddress("status-400")))
            }
            #expect(error?.safeDescription == "SendGrid HTTP 400 (field from.email)")
        }
    }
}
