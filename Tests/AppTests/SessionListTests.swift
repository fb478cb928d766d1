import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Sessions of the signed-in account (GET and DELETE /v1/me/sessions)")
struct SessionListTests {
    private let email = "traveller@example.com"
    private let password = "a well travelled passphrase"

    private func login(
        _ client: some TestClientProtocol, agent: String
    ) async throws -> (access: String, refresh: String) {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        let response = try await client.execute(
            uri: "/v1/login", method: .post,
            headers: [.contentType: "application/json", .userAgent: agent], body: ByteBuffer(data: body))
        #expect(response.status == .ok)
        return try tokenPair(response)
    }

    @Test(
        "each login is a session with its address and agent; the current one is marked; ending one signs that device out",
        arguments: Backend.allCases)
    func listAndEnd(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(.live) { client in
                try await env.activate(client, email: email, password: password)
                let laptop = try await login(client, agent: "Laptop Browser/1.0")
                let phone = try await login(client, agent: "Phone App/2.0\u{7}\n")

                // A refresh keeps the session and moves its last use.
                let renewed = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": phone.refresh])
                let phoneNow = try tokenPair(renewed)

                let listed = try await client.get("/v1/me/sessions", bearer: laptop.access)
                #expect(listed.status == .ok)
                #expect(listed.headers[.cacheControl] == "no-store")
                let sessions = try #require(listed.json["sessions"] as? [[String: Any]])
                #expect(sessions.count == 2)
                // Most recently used first: the phone refreshed last.
                #expect(sessions.map { $0["user_agent"] as? String } == ["Phone App/2.0", "Laptop Browser/1.0"])
                #expect(sessions.map { $0["current"] as? Bool } == [false, true])
                #expect(sessions.allSatisfy { ($0["client_ip"] as? String) == "127.0.0.1" })
                #expect(sessions.allSatisfy { $0["created_at"] is String && $0["last_used_at"] is String })
                let phoneID = try #require(sessions.first?["id"] as? String)

                let ended = try await client.send("/v1/me/sessions/\(phoneID)", method: .delete, bearer: laptop.access)
                #expect(ended.status == .noContent)
                let refused = try await client.postJSON(
                    "/v1/token/refresh", object: ["refresh_token": phoneNow.refresh])
                #expect(refused.status == .unauthorized)
                let remaining = try await client.get("/v1/me/sessions", bearer: laptop.access).json
                #expect((remaining["sessions"] as? [[String: Any]])?.count == 1)
                let again = try await client.send("/v1/me/sessions/\(phoneID)", method: .delete, bearer: laptop.access)
                #expect(again.status == .notFound)
                #expect(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": laptop.refresh]).status
                        == .ok)
            }
        }
    }

    @Test(
        "a session lapses with its newest refresh token (REFRESH_TOKEN_TTL), not at the family's maximum age",
        arguments: Backend.allCases)
    func expiry(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: {
                $0.auth.refreshTokenTTL = .seconds(3600)
                $0.auth.refreshTokenMaxAge = .seconds(86400)
            }
        ) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let before = Date()
                let session = try tokenPair(try await client.login(email: email, password: password))
                let listed = try await client.get("/v1/me/sessions", bearer: session.access).json
                let expires = try #require((listed["sessions"] as? [[String: Any]])?.first?["expires_at"] as? String)
                let expiry = try #require(ISO8601DateFormatter().date(from: expires))
                #expect(expiry.timeIntervalSince(before) > 3500)
                #expect(expiry.timeIntervalSince(before) < 3700)
            }
        }
    }

    @Test("a session of another account cannot be seen or ended; malformed ids 422", arguments: Backend.allCases)
    func otherAccounts(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                try await env.activate(client, email: "other@example.com", password: password)
                let mine = try tokenPair(try await client.login(email: email, password: password))
                let theirs = try tokenPair(try await client.login(email: "other@example.com", password: password))
                let theirList = try await client.get("/v1/me/sessions", bearer: theirs.access).json
                let theirID = try #require((theirList["sessions"] as? [[String: Any]])?.first?["id"] as? String)
                let mineList = try await client.get("/v1/me/sessions", bearer: mine.access).json
                #expect((mineList["sessions"] as? [[String: Any]])?.compactMap { $0["id"] as? String } != [theirID])

                let denied = try await client.send("/v1/me/sessions/\(theirID)", method: .delete, bearer: mine.access)
                #expect(denied.status == .notFound)
                #expect(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": theirs.refresh]).status
                        == .ok)
                let malformed = try await client.send("/v1/me/sessions/nope", method: .delete, bearer: mine.access)
                #expect(malformed.status == .unprocessableContent)
                #expect(try await client.get("/v1/me/sessions", bearer: nil).status == .unauthorized)

                // Logging out and changing the password end sessions in the list too.
                _ = try await client.postJSON("/v1/logout", object: ["refresh_token": mine.refresh])
                #expect(
                    ((try await client.get("/v1/me/sessions", bearer: mine.access).json)["sessions"] as? [Any])?.isEmpty
                        == true)
            }
        }
    }
}
