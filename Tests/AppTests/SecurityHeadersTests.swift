import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

@Suite("Security headers and CORS")
struct SecurityHeadersTests {
    /// A request of each kind: success, not found, bad input, unauthenticated, HTML, JWKS, preflight.
    private func everyKindOfResponse(_ client: some TestClientProtocol) async throws -> [(String, TestResponse)] {
        [
            ("live", try await client.execute(uri: "/health/live", method: .get)),
            ("404", try await client.execute(uri: "/no/such/route", method: .get)),
            ("400", try await client.postJSON("/v1/register", "{")),
            ("422", try await client.postJSON("/v1/register", "{}")),
            ("401", try await client.get("/v1/me", bearer: nil)),
            ("html", try await client.verify(token: "x", accept: "text/html")),
            ("jwks", try await client.execute(uri: "/.well-known/jwks.json", method: .get)),
            ("login", try await client.login(email: "a@example.com", password: "whatever passphrase")),
        ]
    }

    @Test("every response carries the security headers and no server banner", arguments: Backend.allCases)
    func headersEverywhere(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(.live) { client in
                for (name, response) in try await everyKindOfResponse(client) {
                    let comment = Comment(rawValue: name)
                    #expect(response.headers[.xContentTypeOptions] == "nosniff", comment)
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", comment)
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer", comment)
                    #expect(response.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'none'") == true, comment)
                    #expect(
                        response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, comment)
                    #expect(response.headers[.server] == nil, comment)
                    #expect(response.headers[.strictTransportSecurity] == nil, comment)  // plain HTTP, no proxy
                    if name == "jwks" {
                        #expect(response.headers[.cacheControl] == "public, max-age=300")
                    } else {
                        #expect(response.headers[.cacheControl] == "no-store", comment)
                    }
                }
            }
        }
    }

    @Test("behind a trusted TLS proxy every response carries Strict-Transport-Security")
    func hstsBehindTLSProxy() async throws {
        try await TestEnvironment.with(.sqlite, configure: { $0.http.trustProxyTLS = true }) { env in
            try await env.withApp { client in
                for (name, response) in try await everyKindOfResponse(client) {
                    #expect(
                        response.headers[.strictTransportSecurity] == "max-age=31536000; includeSubDomains",
                        Comment(rawValue: name))
                }
            }
        }
    }

    @Test("the Content-Security-Policy allows exactly the built-in pages' style")
    func cspMatchesPageStyle() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp { client in
                let page = try await client.verify(token: "x", accept: "text/html")
                let html = page.text
                let style = try #require(
                    html.range(of: "<style>").flatMap { start in
                        html.range(of: "</style>").map { String(html[start.upperBound..<$0.lowerBound]) }
                    })
                let hash = Data(SHA256.hash(data: Data(style.utf8))).base64EncodedString()
                #expect(page.headers[.contentSecurityPolicy]?.contains("style-src 'sha256-\(hash)'") == true)
                #expect(page.headers[.contentSecurityPolicy]?.contains("script-src") == false)
            }
        }
    }

    @Test("CORS: exactly the configured origins get access, preflights included, never a wildcard")
    func corsMatrix() async throws {
        try await TestEnvironment.with(.sqlite, configure: { $0.http.corsAllowedOrigins = ["https://app.example.com"] })
        { env in
            try await env.withApp { client in
                let allowed = try await client.execute(
                    uri: "/health/live",
                    method: .get,
                    headers: [.origin: "https://app.example.com"]
                )
                #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(allowed.headers[.vary] == "Origin")
                #expect(allowed.headers[.accessControlExposeHeaders]?.contains("X-Request-ID") == true)

                for other in [
                    "https://evil.example.com", "http://app.example.com", "https://app.example.com:8443", "null",
                ] {
                    let refused = try await client.execute(uri: "/health/live", method: .get, headers: [.origin: other])
                    #expect(refused.headers[.accessControlAllowOrigin] == nil, "\(other)")
                }

                let preflight = try await client.execute(
                    uri: "/v1/register",
                    method: .options,
                    headers: [
                        .origin: "https://app.example.com", .accessControlRequestMethod: "POST",
                        .accessControlRequestHeaders: "content-type",
                    ]
                )
                #expect(preflight.status == .noContent)
                #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
                #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Content-Type") == true)
                #expect(preflight.headers[.accessControlAllowCredentials] == nil)

                let refusedPreflight = try await client.execute(
                    uri: "/v1/register",
                    method: .options,
                    headers: [.origin: "https://evil.example.com", .accessControlRequestMethod: "POST"]
                )
                #expect(refusedPreflight.headers[.accessControlAllowOrigin] == nil)
                #expect(refusedPreflight.headers[.accessControlAllowMethods] == nil)

                // An error answer to an allowed origin is readable by it too.
                let error = try await client.execute(
                    uri: "/v1/register",
                    method: .post,
                    headers: [.origin: "https://app.example.com", .contentType: "application/json"],
                    body: ByteBuffer(string: "{")
                )
                #expect(error.status == .badRequest)
                #expect(error.headers[.accessControlAllowOrigin] == "https://app.example.com")
            }
        }
    }
}
