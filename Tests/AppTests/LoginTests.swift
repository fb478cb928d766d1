import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Login")
struct LoginTests {
    @Test("the right password of an active account gets an access and a refresh token", arguments: Backend.allCases)
    func success(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "Login@Example.com", password: "right passphrase")
                let response = try await client.login(email: "login@example.com", password: "right passphrase")
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let body = response.json
                #expect(body["token_type"] as? String == "Bearer")
                #expect(body["expires_in"] as? Int == 900)
                #expect((body["access_token"] as? String)?.split(separator: ".").count == 3)
                #expect((body["refresh_token"] as? String)?.count == 43)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens") == 1)
            }
        }
    }

    @Test("an unknown address and a wrong password get the same 401 problem", arguments: Backend.allCases)
    func invalidCredentials(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "known@example.com", password: "right passphrase")
                let wrong = try await client.login(email: "known@example.com", password: "wrong passphrase")
                let unknown = try await client.login(email: "unknown@example.com", password: "right passphrase")
                for response in [wrong, unknown] {
                    #expect(response.status == .unauthorized)
                    #expect(response.json["code"] as? String == "invalid_credentials")
                }
                #expect(wrong.text == unknown.text)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens") == 0)
            }
        }
    }

    @Test(
        "a pending account answers exactly as a wrong password, whatever the password; the right one re-sends its link",
        arguments: Backend.allCases)
    func pendingAccount(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "active@example.com", password: "chosen passphrase")
                _ = try await client.register(email: "pending@example.com", password: "chosen passphrase")
                try await env.deliverEmails()
                let before = env.transport.sent(to: "pending@example.com").count

                let active = try await client.login(email: "active@example.com", password: "wrong passphrase")
                let right = try await client.login(email: "pending@example.com", password: "chosen passphrase")
                let wrong = try await client.login(email: "pending@example.com", password: "other passphrase")
                for response in [right, wrong] {
                    #expect(response.status == active.status)
                    #expect(response.text == active.text)
                    #expect(
                        response.headers.filter { $0.name != .init("X-Request-ID")! }.map(\.description)
                            == active.headers.filter { $0.name != .init("X-Request-ID")! }.map(\.description))
                }
                #expect(active.status == .unauthorized)
                #expect((active.json["detail"] as? String)?.contains("confirm your address with the link") == true)
                // The right password quietly got its link again; the wrong one got nothing.
                try await env.deliverEmails()
                let emails = env.transport.sent(to: "pending@example.com")
                #expect(emails.count == before + 1)
                let last = try #require(emails.last)
                let link = try #require(verificationToken(in: last.textBody))
                #expect(try await client.verify(token: link).json["status"] as? String == "verified")
            }
        }
    }

    @Test("the link a login re-sends respects the email cooldown", arguments: Backend.allCases)
    func pendingLoginCooldown(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .seconds(60) }) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "patient@example.com", password: "chosen passphrase")
                for _ in 0..<3 {
                    #expect(
                        try await client.login(email: "patient@example.com", password: "chosen passphrase").status
                            == .unauthorized)
                }
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "patient@example.com").count == 1)
            }
        }
    }

    @Test("a hash made with another bcrypt cost is replaced at the next successful login", arguments: Backend.allCases)
    func rehashOnCostChange(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "rehash@example.com", password: "right passphrase")
            }
            let before = try #require(try await env.account("rehash@example.com")?.passwordHash)
            #expect(before.contains("$2b$04$"))
            var stronger = env.configuration
            stronger.bcryptCost = 5
            let app = try await buildApplication(
                configuration: stronger,
                logger: env.logger,
                options: BuildOptions(transport: env.transport, runsOutboxWorker: false)
            )
            try await app.test(.router) { client in
                let response = try await client.login(email: "rehash@example.com", password: "right passphrase")
                #expect(response.status == .ok)
            }
            let after = try #require(try await env.account("rehash@example.com")?.passwordHash)
            #expect(after.contains("$2b$05$"))
            #expect(try await PasswordHasher(cost: 5).verify("right passphrase", against: after))
        }
    }

    @Test("login input is validated like any body", arguments: Backend.allCases)
    func validation(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.postJSON("/v1/login", #"{"email":"not-an-address","extra":1}"#)
                #expect(response.status == .unprocessableContent)
                #expect(
                    Set(response.violations) == ["email:invalid_format", "password:required", "extra:unknown_field"])
            }
        }
    }
}
