import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Change of address (POST /v1/me/email, /v1/email/confirm)")
struct EmailChangeTests {
    private let email = "before@example.com"
    private let newEmail = "After@Example.com"
    private let password = "a steady changing passphrase"

    private func request(
        _ client: some TestClientProtocol, bearer: String?, newEmail: String, password: String
    ) async throws -> TestResponse {
        try await client.sendJSON(
            "/v1/me/email", method: .post, bearer: bearer, object: ["new_email": newEmail, "password": password])
    }

    private func changeToken(_ env: TestEnvironment, to address: String) throws -> String {
        let mail = try #require(env.transport.sent(to: address).last)
        return try #require(linkToken(in: mail.textBody, after: "/v1/email/confirm?token="))
    }

    @Test(
        "the link goes to the new address and a notice to the old; the change happens when the link is confirmed",
        arguments: Backend.allCases)
    func changes(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                let response = try await request(client, bearer: session.access, newEmail: newEmail, password: password)
                #expect(response.status == .accepted)
                #expect(response.json["status"] as? String == "accepted")
                try await env.deliverEmails()
                #expect(env.transport.sent(to: email).last?.subject == "A change of your email address was requested")
                #expect(env.transport.sent(to: email).last?.textBody.contains("after@") == false)
                let token = try changeToken(env, to: newEmail)

                // Nothing changed yet.
                #expect(try await client.login(email: email, password: password).status == .ok)
                // Opening the link changes nothing; a browser gets the confirm button.
                let page = try await client.execute(
                    uri: "/v1/email/confirm?token=\(token)", method: .get, headers: [.accept: "text/html"])
                #expect(page.status == .ok)
                #expect(page.text.contains("action=\"/v1/email/confirm\""))
                #expect(try await client.login(email: email, password: password).status == .ok)

                let confirmed = try await client.postJSON("/v1/email/confirm", object: ["token": token])
                #expect(confirmed.status == .ok)
                #expect(confirmed.json["status"] as? String == "email_changed")
                #expect(try await client.login(email: email, password: password).status == .unauthorized)
                #expect(try await client.login(email: "after@example.com", password: password).status == .ok)
                #expect(try await client.get("/v1/me", bearer: session.access).json["email"] as? String == newEmail)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: email).last?.subject == "Your email address was changed")
                // The old address is free again.
                #expect(
                    try await client.register(email: email, password: "another fresh passphrase").status == .accepted)

                let used = try await client.postJSON("/v1/email/confirm", object: ["token": token])
                #expect(used.status == .gone)
                let form = try await client.execute(
                    uri: "/v1/email/confirm", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "token=\(token)"))
                #expect(form.status == .gone)
                #expect(form.headers[.contentType]?.hasPrefix("text/html") == true)
            }
        }
    }

    @Test(
        "an address with an account gets a notice instead of a link, and the answer is the same",
        arguments: Backend.allCases)
    func takenAddress(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                try await env.activate(client, email: "taken@example.com", password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                let taken = try await request(
                    client, bearer: session.access, newEmail: "taken@example.com", password: password)
                let free = try await request(
                    client, bearer: session.access, newEmail: "free@example.com", password: password)
                #expect(taken.status == .accepted)
                #expect(taken.text == free.text)
                try await env.deliverEmails()
                let notice = try #require(env.transport.sent(to: "taken@example.com").last)
                #expect(notice.subject == "This address already has an account")
                #expect(!notice.textBody.contains("/v1/email/confirm"))
                #expect(try await client.login(email: "taken@example.com", password: password).status == .ok)
            }
        }
    }

    @Test(
        "a link whose address was registered meanwhile fails with 409 and changes nothing; only the latest request counts",
        arguments: Backend.allCases)
    func raceAndSupersede(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                _ = try await request(client, bearer: session.access, newEmail: "first@example.com", password: password)
                _ = try await request(
                    client, bearer: session.access, newEmail: "second@example.com", password: password)
                try await env.deliverEmails()
                let first = try changeToken(env, to: "first@example.com")
                let second = try changeToken(env, to: "second@example.com")
                #expect(try await client.postJSON("/v1/email/confirm", object: ["token": first]).status == .badRequest)

                #expect(
                    try await client.register(email: "second@example.com", password: "someone else's passphrase").status
                        == .accepted)
                let conflict = try await client.postJSON("/v1/email/confirm", object: ["token": second])
                #expect(conflict.status == .conflict)
                #expect(conflict.json["code"] as? String == "email_taken")
                #expect(try await client.login(email: email, password: password).status == .ok)
                #expect(try await client.get("/v1/me", bearer: session.access).json["email"] as? String == email)
            }
        }
    }

    @Test(
        "wrong password 403, own address 422, bad input 422, no token 401, bad links 400", arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let session = try tokenPair(try await client.login(email: email, password: password))
                let wrong = try await request(
                    client, bearer: session.access, newEmail: newEmail, password: "not it at all")
                #expect(wrong.status == .forbidden)
                #expect(wrong.json["code"] as? String == "wrong_password")
                let same = try await request(
                    client, bearer: session.access, newEmail: "BEFORE@example.com", password: password)
                #expect(same.status == .unprocessableContent)
                #expect(same.violations == ["new_email:different"])
                let invalid = try await request(
                    client, bearer: session.access, newEmail: "not an address", password: password)
                #expect(invalid.violations == ["new_email:invalid_format"])
                #expect(
                    try await request(client, bearer: nil, newEmail: newEmail, password: password).status
                        == .unauthorized)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: newEmail).isEmpty)

                #expect(
                    try await client.postJSON("/v1/email/confirm", object: ["token": "short"]).status == .badRequest)
                let unknown = OpaqueToken.generate().value
                #expect(
                    try await client.postJSON("/v1/email/confirm", object: ["token": unknown]).status == .badRequest)
                #expect(try await client.execute(uri: "/v1/email/confirm?token=x", method: .get).status == .badRequest)
            }
        }
    }
}
