import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Refresh tokens and logout")
struct RefreshTokenTests {
    private func login(_ env: TestEnvironment, _ client: some TestClientProtocol) async throws -> [String: Any] {
        try await env.activate(client, email: "session@example.com", password: "right passphrase")
        let response = try await client.login(email: "session@example.com", password: "right passphrase")
        #expect(response.status == .ok)
        return response.json
    }

    private func refresh(_ client: some TestClientProtocol, _ token: Any?) async throws -> TestResponse {
        try await client.postJSON("/v1/token/refresh", object: ["refresh_token": token as? String ?? ""])
    }

    @Test("a refresh returns a new pair and rotates the refresh token", arguments: Backend.allCases)
    func rotation(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let first = try await login(env, client)
                let response = try await refresh(client, first["refresh_token"])
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let second = response.json
                #expect(second["token_type"] as? String == "Bearer")
                #expect(second["refresh_token"] as? String != first["refresh_token"] as? String)
                let access = try #require(second["access_token"] as? String)
                #expect(try await client.get("/v1/me", bearer: access).status == .ok)
                #expect(try await refresh(client, second["refresh_token"]).status == .ok)
            }
        }
    }

    @Test("presenting a rotated refresh token revokes its whole family", arguments: Backend.allCases)
    func reuseRevokesFamily(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let stolen = try await login(env, client)["refresh_token"]
                let legitimate = try await refresh(client, stolen).json["refresh_token"]
                let replay = try await refresh(client, stolen)
                #expect(replay.status == .unauthorized)
                #expect(replay.json["code"] as? String == "invalid_grant")
                // The successor the legitimate client holds is dead too.
                #expect(try await refresh(client, legitimate).status == .unauthorized)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL") == 0)
                #expect(env.logs.lines.contains { $0.contains(#""event":"auth.refresh_reuse""#) })
                // Another login starts a new family that works.
                let again = try await client.login(email: "session@example.com", password: "right passphrase")
                #expect(try await refresh(client, again.json["refresh_token"]).status == .ok)
            }
        }
    }

    @Test("expired, unknown and malformed refresh tokens are refused", arguments: Backend.allCases)
    func refused(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await login(env, client)["refresh_token"]
                for bogus in ["", "short", String(repeating: "A", count: 43)] {
                    #expect(try await refresh(client, bogus).status == .unauthorized, "\(bogus)")
                }
                try await env.expire("refresh_tokens")
                let expired = try await refresh(client, token)
                #expect(expired.status == .unauthorized)
                #expect(expired.json["code"] as? String == "invalid_grant")
            }
        }
    }

    @Test(
        "logout revokes the presented refresh token's session and answers 204, known or not",
        arguments: Backend.allCases)
    func logout(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await login(env, client)["refresh_token"] as? String ?? ""
                let response = try await client.postJSON("/v1/logout", object: ["refresh_token": token])
                #expect(response.status == .noContent)
                #expect(try await refresh(client, token).status == .unauthorized)
                let unknown = try await client.postJSON(
                    "/v1/logout", object: ["refresh_token": String(repeating: "B", count: 43)])
                #expect(unknown.status == .noContent)
                let missing = try await client.postJSON("/v1/logout", "{}")
                #expect(missing.status == .unprocessableContent)
            }
        }
    }

    @Test(
        "logout with an already rotated token ends the whole session: the successor dies too, and it is logged as reuse",
        arguments: Backend.allCases)
    func logoutWithRotatedToken(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                // The audit: refresh(R1) → R2, logout(R1) answered 204 and R2's chain lived on.
                let first = try await login(env, client)["refresh_token"]
                let second = try await refresh(client, first).json["refresh_token"]
                let response = try await client.postJSON(
                    "/v1/logout", object: ["refresh_token": first as? String ?? ""])
                #expect(response.status == .noContent)
                #expect(try await refresh(client, second).status == .unauthorized)
                #expect(try await refresh(client, first).status == .unauthorized)
                #expect(env.logs.lines.contains { $0.contains(#""event":"auth.refresh_reuse""#) })
            }
        }
    }

    @Test(
        "logout with the current token revokes its family only: another login's session lives on",
        arguments: Backend.allCases)
    func logoutRevokesFamily(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let phone = try await login(env, client)["refresh_token"]
                let laptop = try await client.login(email: "session@example.com", password: "right passphrase")
                    .json["refresh_token"]
                let current = try await refresh(client, phone).json["refresh_token"]
                #expect(
                    try await client.postJSON("/v1/logout", object: ["refresh_token": current as? String ?? ""]).status
                        == .noContent)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL") == 1)
                #expect(try await refresh(client, laptop).status == .ok)
                #expect(!env.logs.lines.contains { $0.contains(#""event":"auth.refresh_reuse""#) })
            }
        }
    }

    @Test("refresh tokens are stored only as SHA-256", arguments: Backend.allCases)
    func storedHashed(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try #require(try await login(env, client)["refresh_token"] as? String)
                let hash = OpaqueToken(parsing: token)!.hash
                let hex = hash.map { String(format: "%02x", $0) }.joined()
                let found = try await env.count(
                    postgres: "SELECT count(*) FROM refresh_tokens WHERE token_hash = '\\x\(hex)'::bytea",
                    sqlite: "SELECT count(*) FROM refresh_tokens WHERE token_hash = x'\(hex)'"
                )
                #expect(found == 1)
            }
        }
    }
}
