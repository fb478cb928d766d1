import Foundation
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

/// The audit's takeover of a pending registration: the victim registers, an attacker registers
/// the same address with a password of their own and asks for a resend. A link proves the
/// inbox; only the password chosen at a registration proves the registrant.
@Suite("Pending registrations cannot be taken over")
struct PendingTakeoverTests {
    private let victim = "victim passphrase 1"
    private let attacker = "attacker passphrase 2"

    /// Registers and returns the link of this registration (delivered on its own, so the
    /// order of links is the order of registrations).
    private func register(
        _ env: TestEnvironment, _ client: some TestClientProtocol, _ email: String, _ password: String
    ) async throws -> String {
        #expect(try await client.register(email: email, password: password).status == .accepted)
        return try await latestLink(env, email)
    }

    private func latestLink(_ env: TestEnvironment, _ email: String) async throws -> String {
        try await env.deliverEmails()
        let last = try #require(env.transport.sent(to: email).last)
        return try #require(verificationToken(in: last.textBody))
    }

    @Test(
        "register, attacker registers and resends: the victim's link still works, no link activates the attacker's password",
        arguments: Backend.allCases)
    func resendDoesNotSwitchPassword(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                let victimLink = try await register(env, client, "target@example.com", victim)
                _ = try await register(env, client, "target@example.com", attacker)
                #expect(
                    try await client.postJSON("/v1/verify/resend", object: ["email": "target@example.com"]).status
                        == .accepted)
                let resentLink = try await latestLink(env, "target@example.com")
                #expect(env.transport.sent(to: "target@example.com").count == 3)

                // The owner opens the latest email (the resend, bound to the attacker's
                // registration): it asks for a password and the owner's does not fit it.
                let prompt = try await client.verify(token: resentLink)
                #expect(prompt.status == .conflict)
                #expect(prompt.json["code"] as? String == "password_required")
                #expect(try await client.verify(token: resentLink, password: victim).status == .forbidden)
                #expect(try await env.account("target@example.com")?.status == "pending")

                // The owner's own link still works, with the owner's password.
                #expect(try await client.verify(token: victimLink).status == .conflict)
                #expect(try await client.verify(token: victimLink, password: victim).status == .ok)
                #expect(try await client.login(email: "target@example.com", password: victim).status == .ok)
                #expect(try await client.login(email: "target@example.com", password: attacker).status == .unauthorized)
                // Every other link is retired with the activation.
                #expect(try await client.verify(token: resentLink, password: attacker).status == .badRequest)
            }
        }
    }

    @Test(
        "a browser gets a password form on the verification page; a wrong password re-asks with 403, the right one confirms",
        arguments: Backend.allCases)
    func htmlPasswordPrompt(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let link = try await register(env, client, "browser@example.com", victim)
                _ = try await register(env, client, "browser@example.com", attacker)

                let page = try await client.verify(token: link, accept: "text/html")
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.contains(#"<form method="post" action="/v1/verify">"#))
                #expect(page.text.contains(#"type="password""#))
                #expect(page.text.contains(#"name="token" value="\#(link)""#))

                func submit(_ password: String) async throws -> TestResponse {
                    try await client.execute(
                        uri: "/v1/verify", method: .post,
                        headers: [.contentType: "application/x-www-form-urlencoded"],
                        body: ByteBuffer(
                            string:
                                "token=\(link)&password=\(password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                        ))
                }
                let wrong = try await submit(attacker)
                #expect(wrong.status == .forbidden)
                #expect(wrong.text.contains("not the password chosen at the registration"))
                #expect(wrong.text.contains(#"type="password""#))
                #expect(try await env.account("browser@example.com")?.status == "pending")
                let right = try await submit(victim)
                #expect(right.status == .ok)
                #expect(right.text.contains("Email address confirmed"))
                #expect(try await env.account("browser@example.com")?.status == "active")
            }
        }
    }

    @Test(
        "with the confirm step, the confirm button asks for the password while two registrations wait",
        arguments: Backend.allCases)
    func confirmStepPrompts(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.verifyConfirmStep = true }) { env in
            try await env.withApp { client in
                let link = try await register(env, client, "confirm@example.com", victim)
                _ = try await register(env, client, "confirm@example.com", attacker)
                let confirm = try await client.postJSON("/v1/verify", object: ["token": link])
                #expect(confirm.status == .conflict)
                #expect(try await env.account("confirm@example.com")?.status == "pending")
                #expect(try await client.verify(token: link, password: victim).status == .ok)
            }
        }
    }
}
