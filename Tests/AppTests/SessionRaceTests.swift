import Foundation
import HummingbirdTesting
import Testing

@testable import App

/// A password reset ends every session, including the ones being made or refreshed while it
/// commits: the audit saw, on SQLite 6 times in 6, a login whose bcrypt check started before
/// the reset committed create a session that kept refreshing after it.
@Suite("Sessions racing a password reset")
struct SessionRaceTests {
    private let email = "racer@example.com"

    private func requestResetToken(_ env: TestEnvironment, _ client: some TestClientProtocol) async throws -> String {
        _ = try await client.postJSON("/v1/password/forgot", object: ["email": email])
        try await env.deliverEmails()
        // The latest reset link (a "password changed" notice may be delivered after it).
        return try #require(
            env.transport.sent(to: email).reversed().lazy.compactMap { resetToken(in: $0.textBody) }.first)
    }

    private func refresh(_ client: some TestClientProtocol, _ token: String) async throws -> TestResponse {
        try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token])
    }

    @Test(
        "logins and refreshes racing a reset, 25 times: no session made or renewed before the reset outlives it",
        arguments: Backend.allCases)
    func raceManyTimes(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: {
                $0.accounts.emailCooldown = .zero
                $0.bcryptCost = 5  // long enough for the reset to commit while a login checks
                $0.hashQueueBudget = .seconds(60)  // about races, not overload: never refuse a hash
            }
        ) { env in
            try await env.withApp { client in
                var password = "password number 0"
                try await env.activate(client, email: email, password: password)
                var survivors: [String] = []
                for round in 1...25 {
                    let token = try await requestResetToken(env, client)
                    let existing = try await client.login(email: email, password: password)
                    let held = try #require(existing.json["refresh_token"] as? String)
                    let next = "password number \(round)"
                    let old = password
                    async let racingLogin = client.login(email: email, password: old)
                    async let racingRefresh = refresh(client, held)
                    async let reset = client.postJSON(
                        "/v1/password/reset", object: ["token": token, "password": next])
                    let (login, renewed, done) = try await (racingLogin, racingRefresh, reset)
                    #expect(done.status == .noContent)
                    password = next
                    // Whatever the interleaving, what the race produced is dead now.
                    for response in [login, renewed] where response.status == .ok {
                        let refreshToken = try #require(response.json["refresh_token"] as? String)
                        if try await refresh(client, refreshToken).status == .ok {
                            survivors.append("round \(round)")
                        }
                    }
                    #expect(login.status == .ok || login.status == .unauthorized)
                }
                #expect(survivors.isEmpty, "sessions that outlived a reset: \(survivors)")
                #expect(try await client.login(email: email, password: password).status == .ok)
            }
        }
    }

    @Test(
        "a refresh family has an absolute lifetime (REFRESH_TOKEN_MAX_AGE) besides the sliding expiry",
        arguments: Backend.allCases)
    func absoluteLifetime(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend, configure: { $0.auth.refreshTokenMaxAge = .seconds(3600) }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: "a good passphrase")
                let first = try await client.login(email: email, password: "a good passphrase")
                let token = try #require(first.json["refresh_token"] as? String)
                // The sliding expiry (30 days) is capped by the family's end (one hour).
                #expect(
                    try await env.count(
                        postgres:
                            "SELECT count(*) FROM refresh_tokens WHERE expires_at <= family_created_at + interval '3600 seconds'",
                        sqlite: "SELECT count(*) FROM refresh_tokens WHERE expires_at <= family_created_at + 3600"
                    ) == 1)
                let renewed = try await refresh(client, token)
                #expect(renewed.status == .ok)
                let next = try #require(renewed.json["refresh_token"] as? String)
                // The family's login was more than an hour ago: its newest token is refused.
                try await env.execute(
                    postgres: "UPDATE refresh_tokens SET family_created_at = family_created_at - interval '2 hours'",
                    sqlite: "UPDATE refresh_tokens SET family_created_at = family_created_at - 7200"
                )
                let late = try await refresh(client, next)
                #expect(late.status == .unauthorized)
                #expect(late.json["code"] as? String == "invalid_grant")
            }
        }
    }
}
