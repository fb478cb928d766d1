import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Account deletion (DELETE /v1/me)")
struct AccountDeletionTests {
    private let email = "leaving@example.com"
    private let password = "a long goodbye passphrase"

    private func delete(
        _ client: some TestClientProtocol, bearer: String?, password: String
    ) async throws -> TestResponse {
        try await client.sendJSON("/v1/me", method: .delete, bearer: bearer, object: ["password": password])
    }

    @Test(
        "with the password the account and everything it owns go, the old address is told, and it can register again",
        arguments: Backend.allCases)
    func deletes(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                try await env.activate(client, email: "stays@example.com", password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                _ = try await client.login(email: email, password: password)
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": email])
                try await env.deliverEmails()

                let response = try await delete(client, bearer: session.access, password: password)
                #expect(response.status == .noContent)

                #expect(try await env.account(email) == nil)
                #expect(try await env.account("stays@example.com")?.status == "active")
                let owned = "user_id NOT IN (SELECT id FROM users)"
                for table in ["verification_tokens", "refresh_tokens", "password_reset_tokens"] {
                    #expect(try await env.count("SELECT count(*) FROM \(table) WHERE \(owned)") == 0, "\(table)")
                }
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens") == 0)
                #expect(try await client.get("/v1/me", bearer: session.access).status == .unauthorized)
                let refreshed = try await client.postJSON(
                    "/v1/token/refresh", object: ["refresh_token": session.refresh])
                #expect(refreshed.status == .unauthorized)
                #expect(try await client.login(email: email, password: password).status == .unauthorized)

                try await env.deliverEmails()
                let notice = try #require(env.transport.sent(to: email).last)
                #expect(notice.subject == "Your account was deleted")

                #expect(
                    try await client.register(email: email, password: "a fresh start passphrase").status == .accepted)
                #expect(try await env.account(email)?.status == "pending")
            }
        }
    }

    @Test("a wrong password answers 403 and deletes nothing; no token answers 401", arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))

                let wrong = try await delete(client, bearer: session.access, password: "not the password at all")
                #expect(wrong.status == .forbidden)
                #expect(wrong.json["code"] as? String == "wrong_password")
                #expect(try await delete(client, bearer: nil, password: password).status == .unauthorized)
                let empty = try await client.sendJSON("/v1/me", method: .delete, bearer: session.access, "{}")
                #expect(empty.status == .unprocessableContent)

                #expect(try await env.account(email)?.status == "active")
                let refreshed = try await client.postJSON(
                    "/v1/token/refresh", object: ["refresh_token": session.refresh])
                #expect(refreshed.status == .ok)
            }
        }
    }

    @Test("password guesses for deletion and change share one budget per account", arguments: Backend.allCases)
    func sharedBudget(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.rateLimits.loginFailuresPerAccount = 2 }) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                #expect(
                    try await delete(client, bearer: session.access, password: "wrong guess one").status == .forbidden)
                let change = try await client.execute(
                    uri: "/v1/me/password", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer \(session.access)"],
                    body: ByteBuffer(
                        string: #"{"current_password": "wrong guess two", "new_password": "x y z w v u t"}"#))
                #expect(change.status == .forbidden || change.status == .unprocessableContent)
                #expect(try await delete(client, bearer: session.access, password: password).status == .tooManyRequests)
                #expect(try await env.account(email)?.status == "active")
            }
        }
    }
}
