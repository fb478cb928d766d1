import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Resending the verification link")
struct ResendTests {
    private func resend(_ client: some TestClientProtocol, _ email: String) async throws -> TestResponse {
        try await client.postJSON("/v1/verify/resend", object: ["email": email])
    }

    @Test(
        "a pending address gets a new link for its registration, and the earlier link keeps working",
        arguments: Backend.allCases)
    func newLinkKeepsOld(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "again@example.com", password: "chosen passphrase")
                try await env.deliverEmails()
                let old = try #require(verificationToken(in: env.transport.sent(to: "again@example.com")[0].textBody))

                let response = try await resend(client, "AGAIN@example.com")
                #expect(response.status == .accepted)
                try await env.deliverEmails()
                let emails = env.transport.sent(to: "again@example.com")
                #expect(emails.count == 2)
                let new = try #require(verificationToken(in: emails[1].textBody))
                #expect(new != old)

                // One registration: the old link still activates in one click (which retires the
                // new one, as any activation retires the account's other links).
                #expect(try await client.verify(token: old).json["status"] as? String == "verified")
                #expect(try await client.verify(token: new).status == .badRequest)
                #expect(try await client.login(email: "again@example.com", password: "chosen passphrase").status == .ok)
            }
        }
    }

    @Test("at most one email per address within the cooldown", arguments: Backend.allCases)
    func cooldown(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .seconds(60) }) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "patient@example.com", password: "chosen passphrase")
                for _ in 0..<3 {
                    #expect(try await resend(client, "patient@example.com").status == .accepted)
                }
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "patient@example.com").count == 1)
                // Once the cooldown has passed, a resend goes out again.
                try await env.execute(
                    postgres: "UPDATE verification_tokens SET created_at = created_at - interval '61 seconds'",
                    sqlite: "UPDATE verification_tokens SET created_at = created_at - 61"
                )
                _ = try await resend(client, "patient@example.com")
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "patient@example.com").count == 2)
            }
        }
    }

    @Test("unknown and active addresses get the same 202 and no email", arguments: Backend.allCases)
    func noEnumeration(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "active@example.com", password: "right passphrase")
                let sentBefore = env.transport.sent.count
                let active = try await resend(client, "active@example.com")
                let unknown = try await resend(client, "unknown@example.com")
                _ = try await client.register(email: "pending@example.com", password: "chosen passphrase")
                let pending = try await resend(client, "pending@example.com")
                try await env.deliverEmails()
                #expect(env.transport.sent.count == sentBefore + 2)  // registration + resend of the pending one
                for response in [active, unknown, pending] {
                    #expect(response.status == .accepted)
                    #expect(response.text == active.text)
                }
                let invalid = try await client.postJSON("/v1/verify/resend", #"{"email":"nope"}"#)
                #expect(invalid.status == .unprocessableContent)
            }
        }
    }
}

@Suite("Resend and forgot do the same work for every address")
struct EmailRequestTests {
    @Test(
        "the request only records itself, the same row for an unknown, a pending and an active address; the resolver does the rest",
        arguments: Backend.allCases)
    func sameWorkForEveryAddress(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "active@example.com", password: "a good passphrase")
                _ = try await client.register(email: "pending@example.com", password: "a good passphrase")
                try await env.deliverEmails()
                let emailsBefore = try await env.count("SELECT count(*) FROM email_outbox")
                for (path, address) in [
                    ("/v1/password/forgot", "active@example.com"), ("/v1/password/forgot", "unknown@example.com"),
                    ("/v1/verify/resend", "pending@example.com"), ("/v1/verify/resend", "unknown@example.com"),
                ] {
                    let tokensBefore = try await env.count(
                        "SELECT (SELECT count(*) FROM password_reset_tokens) + (SELECT count(*) FROM verification_tokens)"
                    )
                    #expect(try await client.postJSON(path, object: ["email": address]).status == .accepted)
                    // One recorded request and nothing else, whatever the address (the audit saw
                    // forgot and resend take ~0.5 ms longer for existing addresses: they wrote).
                    #expect(try await env.count("SELECT count(*) FROM email_requests") == 1)
                    #expect(
                        try await env.count(
                            "SELECT (SELECT count(*) FROM password_reset_tokens) + (SELECT count(*) FROM verification_tokens)"
                        )
                            == tokensBefore)
                    #expect(try await env.count("SELECT count(*) FROM email_outbox") == emailsBefore)
                    try await env.execute("DELETE FROM email_requests")
                }
                // Resolved, the requests lead to the emails they always did.
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": "active@example.com"])
                _ = try await client.postJSON("/v1/verify/resend", object: ["email": "pending@example.com"])
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": "unknown@example.com"])
                try await env.deliverEmails()
                #expect(try await env.count("SELECT count(*) FROM email_requests") == 0)
                let active = try #require(env.transport.sent(to: "active@example.com").last)
                #expect(resetToken(in: active.textBody) != nil)
                let pending = try #require(env.transport.sent(to: "pending@example.com").last)
                #expect(verificationToken(in: pending.textBody) != nil)
                #expect(env.transport.sent(to: "unknown@example.com").isEmpty)
            }
        }
    }
}
