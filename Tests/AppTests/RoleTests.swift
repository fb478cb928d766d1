import Foundation
import HummingbirdTesting
import Logging
import Testing

@testable import App

@Suite("Roles and protected routes")
struct RoleTests {
    private func accessToken(_ client: some TestClientProtocol, _ email: String) async throws -> String {
        let response = try await client.login(email: email, password: "right passphrase")
        return try #require(response.json["access_token"] as? String)
    }

    @Test("GET /v1/me: no token 401, bad token 401, any signed-in account 200", arguments: Backend.allCases)
    func me(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "Me@Example.com", password: "right passphrase")
                let none = try await client.get("/v1/me", bearer: nil)
                #expect(none.status == .unauthorized)
                #expect(none.json["code"] as? String == "authentication_required")
                #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                let bad = try await client.get("/v1/me", bearer: "bad.token.here")
                #expect(bad.status == .unauthorized)
                #expect(bad.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true)
                let basic = try await client.execute(
                    uri: "/v1/me", method: .get, headers: [.authorization: "Basic YTpi"])
                #expect(basic.status == .unauthorized)

                let ok = try await client.get("/v1/me", bearer: try await accessToken(client, "me@example.com"))
                #expect(ok.status == .ok)
                #expect(ok.headers[.cacheControl] == "no-store")
                let body = ok.json
                #expect(body["email"] as? String == "Me@Example.com")
                #expect(body["status"] as? String == "active")
                #expect(body["roles"] as? [String] == ["user"])
                #expect((body["id"] as? String)?.count == 36)
                #expect(body["created_at"] is String)
                #expect(body["verified_at"] is String)
            }
        }
    }

    @Test("GET /v1/admin/users: no token 401, bad token 401, user 403, admin 200", arguments: Backend.allCases)
    func adminOnly(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "user@example.com", password: "right passphrase")
                try await env.activate(client, email: "boss@example.com", password: "right passphrase")
                _ = try await client.register(email: "waiting@example.com", password: "some passphrase")
                let granted = try await grantRole(
                    .admin,
                    to: EmailAddress("BOSS@example.com")!,
                    configuration: env.configuration,
                    logger: env.logger
                )
                #expect(granted)

                #expect(try await client.get("/v1/admin/users", bearer: nil).status == .unauthorized)
                #expect(try await client.get("/v1/admin/users", bearer: "x.y.z").status == .unauthorized)
                let forbidden = try await client.get(
                    "/v1/admin/users", bearer: try await accessToken(client, "user@example.com"))
                #expect(forbidden.status == .forbidden)
                #expect(forbidden.json["code"] as? String == "forbidden")

                let admin = try await accessToken(client, "boss@example.com")
                #expect(JWTForge.parts(admin)?.payload["roles"] as? [String] == ["user", "admin"])
                let all = try await client.get("/v1/admin/users", bearer: admin)
                #expect(all.status == .ok)
                #expect(all.json["total"] as? Int == 3)
                #expect(
                    (all.json["users"] as? [[String: Any]])?.compactMap { $0["email"] as? String }
                        == ["user@example.com", "boss@example.com", "waiting@example.com"])

                let pending = try await client.get("/v1/admin/users?status=pending", bearer: admin).json
                let pendingUsers = try #require(pending["users"] as? [[String: Any]])
                #expect(pendingUsers.compactMap { $0["email"] as? String } == ["waiting@example.com"])
                #expect(pendingUsers.first?["verified_at"] is NSNull)

                let page = try await client.get("/v1/admin/users?limit=2", bearer: admin).json
                #expect((page["users"] as? [Any])?.count == 2)
                let cursor = try #require(page["next_cursor"] as? String)
                let last = try await client.get("/v1/admin/users?limit=2&cursor=\(cursor)", bearer: admin).json
                #expect(
                    (last["users"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == [
                        "waiting@example.com"
                    ])
                #expect(last["next_cursor"] is NSNull)

                let invalid = try await client.get("/v1/admin/users?status=deleted&limit=1000", bearer: admin)
                #expect(invalid.status == .unprocessableContent)
                #expect(Set(invalid.violations) == ["status:one_of", "limit:range"])
            }
        }
    }

    @Test("granting a role to an unknown address changes nothing", arguments: Backend.allCases)
    func grantUnknown(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            let granted = try await grantRole(
                .admin,
                to: EmailAddress("nobody@example.com")!,
                configuration: env.configuration,
                logger: env.logger
            )
            #expect(!granted)
        }
    }
}
