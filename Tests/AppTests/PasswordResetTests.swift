import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

@Suite("Password reset")
struct PasswordResetTests {
    private func forgot(_ client: some TestClientProtocol, _ email: String) async throws -> TestResponse {
        try await client.postJSON("/v1/password/forgot", object: ["email": email])
    }

    private func reset(_ client: some TestClientProtocol, token: String, password: String) async throws -> TestResponse
    {
        try await client.postJSON("/v1/password/reset", object: ["token": token, "password": password])
    }

    /// An active account, signed in once, that asked for a reset; returns the emailed token and the refresh token.
    private func prepared(
        _ env: TestEnvironment, _ client: some TestClientProtocol
    ) async throws -> (reset: String, refresh: String) {
        try await env.activate(client, email: "forgetful@example.com", password: "old passphrase")
        let login = try await client.login(email: "forgetful@example.com", password: "old passphrase")
        let refresh = try #require(login.json["refresh_token"] as? String)
        #expect(try await forgot(client, "Forgetful@Example.com").status == .accepted)
        try await env.deliverEmails()
        let email = try #require(env.transport.sent(to: "forgetful@example.com").last)
        #expect(email.subject == "Reset your password")
        return (try #require(resetToken(in: email.textBody)), refresh)
    }

    @Test(
        "forgot → email → reset → the new password works, the old one and old sessions do not",
        arguments: Backend.allCases)
    func fullFlow(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (token, refresh) = try await prepared(env, client)
                let response = try await reset(client, token: token, password: "new passphrase")
                #expect(response.status == .noContent)

                #expect(
                    try await client.login(email: "forgetful@example.com", password: "new passphrase").status == .ok)
                #expect(
                    try await client.login(email: "forgetful@example.com", password: "old passphrase").status
                        == .unauthorized)
                let oldSession = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": refresh])
                #expect(oldSession.status == .unauthorized)

                try await env.deliverEmails()
                #expect(env.transport.sent(to: "forgetful@example.com").last?.subject == "Your password was changed")

                let again = try await reset(client, token: token, password: "third passphrase")
                #expect(again.status == .gone)
                #expect(again.json["code"] as? String == "used_token")
            }
        }
    }

    @Test("expired, malformed and unknown reset tokens are refused", arguments: Backend.allCases)
    func badTokens(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (token, _) = try await prepared(env, client)
                let unknown = try await reset(
                    client, token: String(repeating: "C", count: 43), password: "new passphrase")
                #expect(unknown.status == .badRequest)
                #expect(unknown.json["code"] as? String == "invalid_token")
                #expect(try await reset(client, token: "nonsense", password: "new passphrase").status == .badRequest)
                try await env.expire("password_reset_tokens")
                let expired = try await reset(client, token: token, password: "new passphrase")
                #expect(expired.status == .gone)
                #expect(expired.json["code"] as? String == "expired_token")
                #expect(
                    try await client.login(email: "forgetful@example.com", password: "old passphrase").status == .ok)
            }
        }
    }

    @Test("the new password must meet the policy; a refused one leaves the token usable", arguments: Backend.allCases)
    func policy(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (token, _) = try await prepared(env, client)
                let short = try await reset(client, token: token, password: "short")
                #expect(short.status == .unprocessableContent)
                #expect(short.violations == ["password:too_short"])
                let email = try await reset(client, token: token, password: "forgetful@example.com")
                #expect(email.violations == ["password:equals_email"])
                #expect(try await reset(client, token: token, password: "good new passphrase").status == .noContent)
            }
        }
    }

    @Test(
        "a new request invalidates the earlier link; a pending address gets a fresh verification link, an unknown one nothing",
        arguments: Backend.allCases)
    func requests(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                let (first, _) = try await prepared(env, client)
                _ = try await forgot(client, "forgetful@example.com")
                try await env.deliverEmails()
                let second = try #require(
                    resetToken(in: env.transport.sent(to: "forgetful@example.com").last!.textBody))
                #expect(second != first)
                #expect(try await reset(client, token: first, password: "new passphrase").status == .badRequest)

                _ = try await client.register(email: "pending@example.com", password: "chosen passphrase")
                let sent = env.transport.sent.count
                try await env.deliverEmails()
                let pending = try await forgot(client, "pending@example.com")
                let unknown = try await forgot(client, "unknown@example.com")
                try await env.deliverEmails()
                // The registration email and the fresh verification link; nothing for unknown.
                #expect(env.transport.sent.count == sent + 2)
                #expect(pending.text == unknown.text)
                #expect(pending.status == .accepted)
                let fresh = try #require(env.transport.sent(to: "pending@example.com").last)
                #expect(resetToken(in: fresh.textBody) == nil)
                let link = try #require(verificationToken(in: fresh.textBody))
                #expect(try await client.verify(token: link).json["status"] as? String == "verified")
                #expect(
                    try await client.login(email: "pending@example.com", password: "chosen passphrase").status == .ok)
            }
        }
    }

    @Test("at most one reset email per address within the cooldown", arguments: Backend.allCases)
    func cooldown(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .seconds(60) }) { env in
            try await env.withApp { client in
                _ = try await prepared(env, client)
                _ = try await forgot(client, "forgetful@example.com")
                _ = try await forgot(client, "forgetful@example.com")
                try await env.deliverEmails()
                #expect(
                    env.transport.sent(to: "forgetful@example.com").filter { $0.subject == "Reset your password" }.count
                        == 1)
            }
        }
    }

    @Test("the link opens a built-in HTML form that resets the password", arguments: Backend.allCases)
    func builtInForm(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (token, _) = try await prepared(env, client)
                let page = try await client.execute(uri: "/v1/password/reset?token=\(token)", method: .get)
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(page.text.contains(#"<form method="post" action="/v1/password/reset">"#))
                #expect(page.text.contains(#"name="token" value="\#(token)""#))

                let submitted = try await client.execute(
                    uri: "/v1/password/reset",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "token=\(token)&password=form+chosen+passphrase")
                )
                #expect(submitted.status == .ok)
                #expect(submitted.text.contains("Password changed"))
                #expect(
                    try await client.login(email: "forgetful@example.com", password: "form chosen passphrase").status
                        == .ok)

                let used = try await client.execute(uri: "/v1/password/reset?token=\(token)", method: .get)
                #expect(used.status == .gone)
                #expect(used.headers[.contentType] == "text/html; charset=utf-8")
            }
        }
    }

    @Test("with PASSWORD_RESET_URL the email links to the product's own page")
    func ownFrontEnd() async throws {
        try await TestEnvironment.with(
            .sqlite, configure: { $0.accounts.passwordResetURL = "https://app.example.com/reset?from=email" }
        ) {
            env in
            try await env.withApp { client in
                try await env.activate(client, email: "spa@example.com", password: "old passphrase")
                _ = try await forgot(client, "spa@example.com")
                try await env.deliverEmails()
                let text = try #require(env.transport.sent(to: "spa@example.com").last?.textBody)
                #expect(text.contains("https://app.example.com/reset?from=email&token="))
            }
        }
    }
}
