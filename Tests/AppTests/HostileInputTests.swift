import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import PropertyBased
import Testing

@testable import App

@Suite("Hostile input")
struct HostileInputTests {
    /// Every endpoint that reads a body.
    static let endpoints = [
        "/v1/register", "/v1/login", "/v1/verify", "/v1/verify/resend", "/v1/password/forgot", "/v1/password/reset",
        "/v1/token/refresh", "/v1/logout",
    ]

    /// Pieces that, strung together at random, make well-formed, broken and hostile JSON.
    static let fragments = [
        "{", "}", "[", "]", ",", ":", #""email""#, #""password""#, #""token""#, #""refresh_token""#,
        #""a@example.com""#, #""x""#, "1", "-0", "1e999", "0.5", "true", "null", #""\u0000""#,
        #""a\r\nBcc: b@example.com""#,
        #""\ud800""#, #""\uDFFF\uD800""#, "'; DROP TABLE users; --", #""' OR '1'='1""#, "\u{0}", "\r\n", "\u{FEFF}",
        "é", "\u{202E}", String(repeating: "[", count: 40), String(repeating: "{\"a\":", count: 40),
        #"""# + String(repeating: "A", count: 300) + #"""#, "\\", #"\""#,
    ]

    private func assertNothingStored(_ env: TestEnvironment) async throws {
        for table in ["users", "verification_tokens", "refresh_tokens", "password_reset_tokens", "email_outbox"] {
            let rows = try await env.count("SELECT count(*) FROM \(table)")
            #expect(rows == 0, "\(table)")
        }
    }

    @Test("random and hostile JSON bodies never produce a 5xx or a stored row")
    func hostileJSON() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp { client in
                let bodies = Gen<String?>.element(of: Self.fragments).array(of: 0...24).map {
                    $0.compactMap { $0 }.joined()
                }
                let requests = Counter()
                await propertyCheck(count: 150, input: bodies) { body in
                    for endpoint in Self.endpoints {
                        requests.increment()
                        let response = try await client.postJSON(endpoint, body)
                        #expect(response.status.code < 500, "\(endpoint) \(body)")
                        #expect(
                            (400..<500).contains(response.status.code) || response.status.code == 202
                                || response.status.code == 204)
                    }
                }
                #expect(requests.value == 150 * Self.endpoints.count)
                try await assertNothingStored(env)
            }
        }
    }

    @Test("random bytes never produce a 5xx or a stored row, whatever the content type")
    func randomBytes() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp { client in
                let bytes = Gen<UInt8>.value(in: 0...255).array(of: 0...400)
                let contentTypes = Gen<String?>.element(of: [
                    "application/json", "application/x-www-form-urlencoded", "text/plain",
                    "application/json; charset=utf-16",
                ])
                await propertyCheck(count: 100, input: bytes, contentTypes) { bytes, contentType in
                    for endpoint in Self.endpoints {
                        let response = try await client.execute(
                            uri: endpoint,
                            method: .post,
                            headers: [.contentType: contentType ?? "application/json"],
                            body: ByteBuffer(bytes: bytes)
                        )
                        #expect(response.status.code < 500, "\(endpoint) \(contentType ?? "") \(bytes)")
                    }
                }
                try await assertNothingStored(env)
            }
        }
    }

    @Test(
        "CR, LF or NUL in any field is a 422 and no email is written",
        arguments: ["a@example.com\r\nBcc: victim@example.com", "a@example.com\u{0}", "a\n@example.com"]
    )
    func headerInjection(email: String) async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp { client in
                for endpoint in ["/v1/register", "/v1/verify/resend", "/v1/password/forgot", "/v1/login"] {
                    let response = try await client.postJSON(
                        endpoint,
                        object: ["email": email, "password": "a good passphrase"].filter {
                            endpoint.hasSuffix("register") || endpoint.hasSuffix("login") || $0.key == "email"
                        }
                    )
                    #expect(response.status == .unprocessableContent, "\(endpoint)")
                    #expect(response.violations.contains("email:invalid_format"), "\(endpoint)")
                }
                try await assertNothingStored(env)
            }
        }
    }

    @Test("overlong and malformed tokens are a 4xx everywhere a token is taken")
    func overlongTokens() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp { client in
                let long = String(repeating: "A", count: 10_000)
                #expect(try await client.verify(token: long).status == .badRequest)
                #expect(try await client.postJSON("/v1/verify", object: ["token": long]).status == .badRequest)
                #expect(
                    try await client.postJSON(
                        "/v1/password/reset", object: ["token": long, "password": "a good passphrase"]
                    ).status == .badRequest)
                #expect(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": long]).status
                        == .unauthorized)
                #expect(try await client.get("/v1/me", bearer: long).status == .unauthorized)
                try await assertNothingStored(env)
            }
        }
    }
}

/// Counts calls from concurrent closures.
final class Counter: Sendable {
    private let storage = NIOLockedValueBox(0)
    func increment() { storage.withLockedValue { $0 += 1 } }
    var value: Int { storage.withLockedValue { $0 } }
}
