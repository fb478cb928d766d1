import App
import Crypto
import Foundation
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

@Suite("Email verification")
struct VerificationTests {
    /// Registers `email` and returns the token from the delivered verification email.
    private func registerAndFetchToken(
        _ env: TestEnvironment,
        _ client: some TestClientProtocol,
        email: String,
        password: String = "a good passphrase"
    ) async throws -> String {
        let response = try await client.register(email: email, password: password)
        #expect(response.status == .accepted)
        try await env.deliverEmails()
        let message = try #require(env.transport.sent(to: email).last)
        return try #require(verificationToken(in: message.textBody))
    }

    @Test("a valid link activates the account and records when", arguments: Backend.allCases)
    func validLinkActivates(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "erin@example.com")
                let response = try await client.verify(token: token)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(response.json["status"] as? String == "verified")
                #expect(!response.text.contains("erin"))
                let account = try await env.account("erin@example.com")
                #expect(account?.status == "active")
                #expect(account?.verified == true)
            }
        }
    }

    @Test("opening the same link again answers success and changes nothing", arguments: Backend.allCases)
    func reusedLinkIsIdempotent(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "frank@example.com")
                #expect(try await client.verify(token: token).status == .ok)
                let before = try await env.account("frank@example.com")
                let again = try await client.verify(token: token)
                #expect(again.status == .ok)
                #expect(again.json["status"] as? String == "already_verified")
                let after = try await env.account("frank@example.com")
                #expect(after?.passwordHash == before?.passwordHash)
            }
        }
    }

    @Test("an expired link answers 410 and leaves the account pending", arguments: Backend.allCases)
    func expiredLink(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "grace@example.com")
                try await env.expireVerificationTokens()
                let response = try await client.verify(token: token)
                #expect(response.status == .gone)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json["code"] as? String == "expired_token")
                #expect(try await env.account("grace@example.com")?.status == "pending")
            }
        }
    }

    @Test("the token's lifetime is VERIFICATION_TOKEN_TTL", arguments: Backend.allCases)
    func lifetimeFromConfiguration(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.verificationTokenTTL = .seconds(600) }) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "ttl@example.com", password: "a good passphrase")
                #expect(try await env.verificationTokenLifetimes() == [600])
            }
        }
    }

    @Test(
        "malformed, tampered and unknown tokens answer 400 without account data",
        arguments: Backend.allCases,
        ["", "short", String(repeating: "A", count: 44), "abc!def", String(repeating: "é", count: 43)]
    )
    func malformedToken(backend: Backend, token: String) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.verify(token: token)
                #expect(response.status == .badRequest)
                #expect(response.json["code"] as? String == "invalid_token")
            }
        }
    }

    @Test("a token with one character changed is rejected and the account stays pending", arguments: Backend.allCases)
    func tamperedToken(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "heidi@example.com")
                let first = token.first!
                let tampered = String(first == "A" ? "B" : "A") + token.dropFirst()
                let response = try await client.verify(token: tampered)
                #expect(response.status == .badRequest)
                #expect(response.json["code"] as? String == "invalid_token")
                #expect(!response.text.contains("heidi"))
                #expect(try await env.account("heidi@example.com")?.status == "pending")
                let unknown = try await client.verify(token: String(repeating: "A", count: 43))
                #expect(unknown.status == .badRequest)
            }
        }
    }

    @Test("a missing token parameter answers 400", arguments: Backend.allCases)
    func missingToken(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.execute(uri: "/v1/verify", method: .get)
                #expect(response.status == .badRequest)
                #expect(response.json["code"] as? String == "invalid_token")
            }
        }
    }

    @Test("only the SHA-256 of the token is stored", arguments: Backend.allCases)
    func tokenStoredAsHash(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "ivan@example.com")
                #expect(token.count == 43)
                #expect(try await env.verificationTokenHashes() == [Data(SHA256.hash(data: Data(token.utf8)))])
            }
        }
    }

    @Test("a browser gets an HTML page for success and for failure", arguments: Backend.allCases)
    func browserGetsHTML(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let token = try await registerAndFetchToken(env, client, email: "judy@example.com")
                let browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
                let success = try await client.verify(token: token, accept: browserAccept)
                #expect(success.status == .ok)
                #expect(success.headers[.contentType] == "text/html; charset=utf-8")
                #expect(success.text.contains("<h1>Email address confirmed</h1>"))
                let failure = try await client.verify(token: "nonsense", accept: browserAccept)
                #expect(failure.status == .badRequest)
                #expect(failure.headers[.contentType] == "text/html; charset=utf-8")
                #expect(failure.text.contains("Invalid verification link"))
            }
        }
    }

    @Test(
        "with two registrations waiting, a link activates only with its own password, and using one retires the others",
        arguments: Backend.allCases)
    func linkCarriesItsOwnPassword(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let ownerToken = try await registerAndFetchToken(
                    env,
                    client,
                    email: "kim@example.com",
                    password: "owner's passphrase"
                )
                let squatterToken = try await registerAndFetchToken(
                    env,
                    client,
                    email: "kim@example.com",
                    password: "squatter's passphrase"
                )
                #expect(ownerToken != squatterToken)
                let prompt = try await client.verify(token: ownerToken)
                #expect(prompt.status == .conflict)
                #expect(prompt.json["code"] as? String == "password_required")
                let wrong = try await client.verify(token: ownerToken, password: "squatter's passphrase")
                #expect(wrong.status == .forbidden)
                #expect(wrong.json["code"] as? String == "password_mismatch")
                #expect(try await env.account("kim@example.com")?.status == "pending")
                #expect(try await client.verify(token: ownerToken, password: "owner's passphrase").status == .ok)
                let hash = try #require(try await env.account("kim@example.com")?.passwordHash)
                let hasher = PasswordHasher(cost: 4)
                #expect(try await hasher.verify("owner's passphrase", against: hash))
                #expect(try await hasher.verify("squatter's passphrase", against: hash) == false)
                // The other link no longer carries a password; opening it changes nothing.
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                #expect(
                    try await env.count("SELECT count(*) FROM verification_tokens WHERE password_hash IS NOT NULL") == 0
                )
                let stale = try await client.verify(token: squatterToken)
                #expect(stale.status == .badRequest)
                let after = try #require(try await env.account("kim@example.com")?.passwordHash)
                #expect(after == hash)
            }
        }
    }

    @Test("concurrent clicks on two links of one account activate it exactly once", arguments: Backend.allCases)
    func concurrentVerification(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: TestEnvironment.patientDatabase) { env in
            // The live test client has one connection and sends one request at a time; through
            // the router the requests really run at once.
            try await env.withApp(.router) { client in
                let first = try await registerAndFetchToken(
                    env, client, email: "leo@example.com", password: "first passphrase")
                let second = try await registerAndFetchToken(
                    env, client, email: "leo@example.com", password: "second passphrase")
                let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                    let attempts = [(first, "first passphrase"), (second, "second passphrase")]
                    for (token, password) in attempts + attempts {
                        group.addTask {
                            let response = try await client.verify(token: token, password: password)
                            return
                                "\(response.status.code) \(response.json["status"] as? String ?? response.json["code"] as? String ?? "")"
                        }
                    }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 == "200 verified" }.count == 1)
                #expect(outcomes.allSatisfy { $0.hasPrefix("200") || $0 == "400 invalid_token" })
                #expect(try await env.account("leo@example.com")?.status == "active")
            }
        }
    }
}

@Suite("Verification with a confirmation step")
struct ConfirmStepTests {
    @Test("opening the link changes nothing; the confirm button's POST activates", arguments: Backend.allCases)
    func confirmStep(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.verifyConfirmStep = true }) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "scanned@example.com", password: "a good passphrase")
                try await env.deliverEmails()
                let token = try #require(
                    verificationToken(in: env.transport.sent(to: "scanned@example.com")[0].textBody))

                // What a mail filter's link scanner does: GET, as a browser and as anything else.
                let page = try await client.verify(token: token, accept: "text/html")
                #expect(page.status == .ok)
                #expect(page.text.contains(#"<form method="post" action="/v1/verify">"#))
                let api = try await client.verify(token: token)
                #expect(api.json["status"] as? String == "confirmation_required")
                #expect(try await env.account("scanned@example.com")?.status == "pending")

                let confirmed = try await client.execute(
                    uri: "/v1/verify",
                    method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "token=\(token)")
                )
                #expect(confirmed.status == .ok)
                #expect(confirmed.text.contains("Email address confirmed"))
                #expect(try await env.account("scanned@example.com")?.status == "active")
            }
        }
    }

    @Test("without the confirmation step, POST /v1/verify with JSON also activates", arguments: Backend.allCases)
    func postJSON(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "api@example.com", password: "a good passphrase")
                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent(to: "api@example.com")[0].textBody))
                let response = try await client.postJSON("/v1/verify", object: ["token": token])
                #expect(response.json["status"] as? String == "verified")
                #expect(try await env.account("api@example.com")?.status == "active")
            }
        }
    }
}
