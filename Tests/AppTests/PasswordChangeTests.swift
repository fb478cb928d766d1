import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Password change (POST /v1/me/password)")
struct PasswordChangeTests {
    private let email = "changer@example.com"
    private let oldPassword = "the first long passphrase"
    private let newPassword = "a second long passphrase"

    private func change(
        _ client: some TestClientProtocol, bearer: String?, current: String, new: String
    ) async throws -> TestResponse {
        try await client.sendJSON(
            "/v1/me/password", method: .post, bearer: bearer,
            object: ["current_password": current, "new_password": new])
    }

    @Test(
        "the right current password changes it: every other session ends, the caller gets a new one, the owner is told",
        arguments: Backend.allCases)
    func changes(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: oldPassword)
                let here = try tokenPair(try await client.login(email: email, password: oldPassword))
                let elsewhere = try tokenPair(try await client.login(email: email, password: oldPassword))

                let response = try await change(client, bearer: here.access, current: oldPassword, new: newPassword)
                #expect(response.status == .ok)
                #expect(response.headers[.cacheControl] == "no-store")
                let fresh = try tokenPair(response)

                for old in [here.refresh, elsewhere.refresh] {
                    let refreshed = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": old])
                    #expect(refreshed.status == .unauthorized)
                }
                let kept = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": fresh.refresh])
                #expect(kept.status == .ok)
                #expect(try await client.get("/v1/me", bearer: fresh.access).status == .ok)
                #expect(try await client.login(email: email, password: oldPassword).status == .unauthorized)
                #expect(try await client.login(email: email, password: newPassword).status == .ok)

                try await env.deliverEmails()
                let notice = try #require(env.transport.sent(to: email).last)
                #expect(notice.subject == "Your password was changed")
                #expect(notice.textBody.contains("every other session was signed out"))
                #expect(!notice.textBody.contains(newPassword))
            }
        }
    }

    @Test("a wrong current password answers 403 and changes nothing", arguments: Backend.allCases)
    func wrongCurrentPassword(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: oldPassword)
                let session = try tokenPair(try await client.login(email: email, password: oldPassword))
                try await env.deliverEmails()
                let emailsBefore = env.transport.sent(to: email).count

                let response = try await change(
                    client, bearer: session.access, current: "not the passphrase at all", new: newPassword)
                #expect(response.status == .forbidden)
                #expect(response.json["code"] as? String == "wrong_password")

                let refreshed = try await client.postJSON(
                    "/v1/token/refresh", object: ["refresh_token": session.refresh])
                #expect(refreshed.status == .ok)
                #expect(try await client.login(email: email, password: oldPassword).status == .ok)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: email).count == emailsBefore)
            }
        }
    }

    @Test(
        "a new password that breaks the policy answers 422; no token answers 401; a missing field 422",
        arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: oldPassword)
                let session = try tokenPair(try await client.login(email: email, password: oldPassword))

                let weak = try await change(client, bearer: session.access, current: oldPassword, new: "short")
                #expect(weak.status == .unprocessableContent)
                let common = try await change(client, bearer: session.access, current: oldPassword, new: "password123")
                #expect(common.status == .unprocessableContent)
                let anonymous = try await change(client, bearer: nil, current: oldPassword, new: newPassword)
                #expect(anonymous.status == .unauthorized)
                let forged = try await change(client, bearer: "not.a.jwt", current: oldPassword, new: newPassword)
                #expect(forged.status == .unauthorized)
                let missing = try await client.sendJSON(
                    "/v1/me/password", method: .post, bearer: session.access,
                    #"{"new_password": "a second long passphrase"}"#)
                #expect(missing.status == .unprocessableContent)

                #expect(try await client.login(email: email, password: oldPassword).status == .ok)
            }
        }
    }

    @Test(
        "guessing the current password with a stolen access token is throttled per account", arguments: Backend.allCases
    )
    func throttled(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.rateLimits.loginFailuresPerAccount = 3 }) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: oldPassword)
                let session = try tokenPair(try await client.login(email: email, password: oldPassword))
                let limit = env.configuration.rateLimits.loginFailuresPerAccount
                for attempt in 1...limit {
                    let response = try await change(
                        client, bearer: session.access, current: "guess number \(attempt) here", new: newPassword)
                    #expect(response.status == .forbidden)
                }
                let limited = try await change(client, bearer: session.access, current: oldPassword, new: newPassword)
                #expect(limited.status == .tooManyRequests)
                #expect(limited.headers[.retryAfter] != nil)
                #expect(try await client.login(email: email, password: oldPassword).status == .ok)
            }
        }
    }
}
