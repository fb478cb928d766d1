import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

/// Register → the email leaves through a real transport, built from the configuration as in
/// production → the link from the received message verifies → login works. On PostgreSQL.
@Suite("Email delivery end to end")
struct EmailDeliveryEndToEndTests {
    let servers: MailServers

    init() throws {
        servers = try MailServers.running()
    }

    /// Runs the whole flow with `transport` configured; `inbox` finds the received text part.
    private func flow(
        _ transport: EmailTransportSettings, inbox: @escaping @Sendable (String) async throws -> String?
    ) async throws {
        try await TestEnvironment.with(.postgres) { env in
            var configuration = env.configuration
            configuration.emailTransport = transport
            configuration.emailFromName = "Example Accounts"
            let app = try await buildApplication(
                configuration: configuration, logger: env.logger,
                options: BuildOptions(runsOutboxWorker: true, metrics: env.metrics))
            let address = uniqueAddress("flow")
            try await app.test(.router) { client in
                #expect(try await client.register(email: address, password: "a good passphrase").status == .accepted)
                var text: String?
                // Wait for the worker and the provider, without asserting on time.
                for _ in 0..<500 {
                    text = try await inbox(address)
                    if text != nil { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                let token = try #require(text.flatMap(verificationToken(in:)))
                #expect(try await client.verify(token: token).status == .ok)
                #expect(try await client.login(email: address, password: "a good passphrase").status == .ok)
            }
            #expect(env.logs.lines.contains { $0.contains(#""event":"email.sent""#) })
        }
    }

    @Test("through SMTP with STARTTLS and AUTH")
    func smtp() async throws {
        try await flow(.smtp(servers.smtp(\.starttlsPort, security: .starttls))) { address in
            try await servers.smtpMessages(to: address).first?.text
        }
    }

    @Test("through Amazon SES (moto)")
    func ses() async throws {
        let settings = SESSettings(
            region: "us-east-1",
            credentials: .fixed(AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")),
            endpoint: URL(string: "http://127.0.0.1:\(servers.motoPort)")!)
        try await flow(.ses(settings)) { address in
            try await servers.sesMessages(to: address).first?.text
        }
    }

    @Test("through SendGrid (the contract server)")
    func sendgrid() async throws {
        let server = SendGridContractServer()
        try await server.run { url in
            try await flow(.sendgrid(SendGridSettings(apiKey: SendGridContractServer.apiKey, endpoint: url))) {
                address in
                server.accepted.first { body in
                    let to = (body["personalizations"] as? [[String: Any]])?.first?["to"] as? [[String: Any]]
                    return to?.first?["email"] as? String == address
                }.flatMap { ($0["content"] as? [[String: String]])?.first?["value"] }
            }
        }
        #expect(server.violations.withLockedValue { $0 } == [])
    }
}
