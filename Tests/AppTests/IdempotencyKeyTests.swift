import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

/// `Idempotency-Key` on the POSTs that send email: a client that lost the answer retries
/// without a second email; the key lives in the database, so any instance honours it.
@Suite("Idempotency keys")
struct IdempotencyKeyTests {
    private static let keyField = HTTPField.Name("Idempotency-Key")!
    private static let replayedField = HTTPField.Name("Idempotent-Replayed")!

    private func post(
        _ client: some TestClientProtocol, _ uri: String, _ object: [String: String], key: String?
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[Self.keyField] = key }
        let body = try JSONSerialization.data(withJSONObject: object)
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    private func register(
        _ client: some TestClientProtocol, _ email: String, key: String?, password: String = "a good passphrase"
    ) async throws -> TestResponse {
        try await post(client, "/v1/register", ["email": email, "password": password], key: key)
    }

    @Test(
        "a registration retried with the same key gets the original 202, marked replayed, and sends nothing new",
        arguments: Backend.allCases)
    func registrationReplayed(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let first = try await register(client, "retry@example.com", key: "7f3c0e1a-retry")
                #expect(first.status == .accepted)
                #expect(first.headers[Self.replayedField] == nil)
                let again = try await register(client, "Retry@Example.com", key: "7f3c0e1a-retry")
                #expect(again.status == .accepted)
                #expect(again.text == first.text)
                #expect(again.headers[Self.replayedField] == "true")
                #expect(try await env.count("SELECT count(*) FROM users") == 1)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "retry@example.com").count == 1)
                // Without the key, a repeated registration sends another link, as before.
                #expect(try await register(client, "retry@example.com", key: nil).status == .accepted)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "retry@example.com").count == 2)
            }
        }
    }

    @Test(
        "resend and forgot retried with the same key send one email, even once the cooldown is over",
        arguments: Backend.allCases)
    func resendAndForgotReplayed(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: { $0.accounts.emailCooldown = .zero }) { env in
            try await env.withApp { client in
                _ = try await register(client, "pending@example.com", key: nil)
                try await env.activate(client, email: "active@example.com", password: "a good passphrase")
                try await env.deliverEmails()
                let before = (
                    pending: env.transport.sent(to: "pending@example.com").count,
                    active: env.transport.sent(to: "active@example.com").count
                )
                for _ in 0..<3 {
                    let resend = try await post(
                        client, "/v1/verify/resend", ["email": "pending@example.com"], key: "resend-key-1")
                    #expect(resend.status == .accepted)
                    let forgot = try await post(
                        client, "/v1/password/forgot", ["email": "active@example.com"], key: "forgot-key-1")
                    #expect(forgot.status == .accepted)
                }
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "pending@example.com").count == before.pending + 1)
                #expect(env.transport.sent(to: "active@example.com").count == before.active + 1)
            }
        }
    }

    @Test(
        "a key reused for another address is refused with 422 idempotency_key_reused and changes nothing",
        arguments: Backend.allCases)
    func reusedForAnotherRequest(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                #expect(try await register(client, "first@example.com", key: "shared-key").status == .accepted)
                let other = try await register(client, "second@example.com", key: "shared-key")
                #expect(other.status == .unprocessableContent)
                #expect(other.headers[.contentType] == "application/problem+json")
                #expect(other.json["code"] as? String == "idempotency_key_reused")
                #expect(try await env.count("SELECT count(*) FROM users") == 1)
                // The same key on another endpoint is another key.
                let resend = try await post(
                    client, "/v1/verify/resend", ["email": "second@example.com"], key: "shared-key")
                #expect(resend.status == .accepted)
                #expect(resend.headers[Self.replayedField] == nil)
            }
        }
    }

    @Test("a malformed or repeated Idempotency-Key is 400 invalid_idempotency_key", arguments: Backend.allCases)
    func malformedKeys(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for key in ["", String(repeating: "k", count: 256), "has space", "tab\tinside", "ünïcode", "\"\""] {
                    let response = try await register(client, "malformed@example.com", key: key)
                    #expect(response.status == .badRequest, "key \(key.debugDescription)")
                    #expect(response.json["code"] as? String == "invalid_idempotency_key")
                }
                var headers: HTTPFields = [.contentType: "application/json"]
                headers.append(HTTPField(name: Self.keyField, value: "one"))
                headers.append(HTTPField(name: Self.keyField, value: "two"))
                let twice = try await client.execute(
                    uri: "/v1/password/forgot", method: .post, headers: headers,
                    body: ByteBuffer(string: #"{"email":"malformed@example.com"}"#))
                #expect(twice.status == .badRequest)
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
                // The longest key and a structured-field string are accepted.
                #expect(
                    try await register(client, "longest@example.com", key: String(repeating: "k", count: 255)).status
                        == .accepted)
                #expect(try await register(client, "quoted@example.com", key: "\"sf-string\"").status == .accepted)
                let unquoted = try await register(client, "quoted@example.com", key: "sf-string")
                #expect(unquoted.headers[Self.replayedField] == "true")
            }
        }
    }

    @Test(
        "ten concurrent requests with one key: one registration, one email, nine replays",
        arguments: Backend.allCases)
    func concurrentRetries(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: TestEnvironment.patientDatabase) { env in
            // The live test client has one connection and sends one request at a time; through
            // the router the requests really run at once.
            try await env.withApp(.router) { client in
                let answers = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                    for _ in 0..<10 {
                        group.addTask {
                            let response = try await register(client, "storm@example.com", key: "storm-key")
                            return (response.status.code, response.headers[Self.replayedField] == "true")
                        }
                    }
                    return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
                }
                #expect(answers.map(\.0) == Array(repeating: 202, count: 10))
                #expect(answers.filter(\.1).count == 9)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "storm@example.com").count == 1)
            }
        }
    }

    @Test(
        "a request that failed keeps no key, so its retry does the work; an expired key does it again",
        arguments: Backend.allCases)
    func failedAndExpired(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.makeOutboxInsertsFail()
                #expect(try await register(client, "failed@example.com", key: "failing-key").status.code == 500)
                #expect(try await env.count("SELECT count(*) FROM idempotency_keys") == 0)
                try await env.execute(
                    postgres: "DROP TRIGGER refuse_outbox ON email_outbox", sqlite: "DROP TRIGGER refuse_outbox")
                let retry = try await register(client, "failed@example.com", key: "failing-key")
                #expect(retry.status == .accepted)
                #expect(retry.headers[Self.replayedField] == nil)

                try await env.expire("idempotency_keys")
                let late = try await register(client, "failed@example.com", key: "failing-key")
                #expect(late.headers[Self.replayedField] == nil)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "failed@example.com").count == 2)
            }
        }
    }

    @Test(
        "keys are stored as hashes, never as sent, and housekeeping deletes the expired ones",
        arguments: Backend.allCases)
    func storedHashedAndPurged(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for index in 0..<3 {
                    _ = try await register(client, "kept\(index)@example.com", key: "visible-key-\(index)")
                }
                #expect(
                    try await env.count(
                        postgres:
                            "SELECT count(*) FROM idempotency_keys WHERE position('visible-key' in encode(key_hash, 'escape')) > 0",
                        sqlite:
                            "SELECT count(*) FROM idempotency_keys WHERE instr(CAST(key_hash AS TEXT), 'visible-key') > 0"
                    ) == 0)
                try await env.execute(
                    postgres:
                        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE created_at = (SELECT min(created_at) FROM idempotency_keys)",
                    sqlite:
                        "UPDATE idempotency_keys SET expires_at = unixepoch('subsec') - 1 WHERE created_at = (SELECT min(created_at) FROM idempotency_keys)"
                )
                let housekeeping = Housekeeping(
                    rateLimits: env.database.rateLimits, accounts: env.database.accounts, window: .seconds(60),
                    settings: HousekeepingSettings(), metrics: nil, gate: StartupGate(open: true), logger: env.logger)
                await housekeeping.sweep()
                #expect(try await env.count("SELECT count(*) FROM idempotency_keys") == 2)
            }
        }
    }
}
