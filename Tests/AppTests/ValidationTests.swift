import App
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@Suite("Registration input validation")
struct ValidationTests {
    /// Sends `body` and expects a 422 naming exactly `violations`, with nothing written.
    private func expectRejected(
        _ backend: Backend,
        _ body: String,
        violations expected: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.postJSON("/v1/register", body)
                #expect(response.status == .unprocessableContent, sourceLocation: sourceLocation)
                #expect(response.headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
                #expect(response.json["code"] as? String == "validation_failed", sourceLocation: sourceLocation)
                #expect(Set(response.violations) == Set(expected), sourceLocation: sourceLocation)
                #expect(try await env.count("SELECT count(*) FROM users") == 0, sourceLocation: sourceLocation)
                #expect(try await env.count("SELECT count(*) FROM email_outbox") == 0, sourceLocation: sourceLocation)
            }
        }
    }

    @Test("unknown members are rejected", arguments: Backend.allCases)
    func unknownField(backend: Backend) async throws {
        try await expectRejected(
            backend,
            #"{"email":"a@example.com","password":"long enough","role":"admin"}"#,
            violations: ["role:unknown_field"]
        )
    }

    @Test("both members are required", arguments: Backend.allCases)
    func missingFields(backend: Backend) async throws {
        try await expectRejected(backend, "{}", violations: ["email:required", "password:required"])
    }

    @Test(
        "members must be strings",
        arguments: Backend.allCases,
        [#"5"#, #"true"#, #"null"#, #"["a@example.com"]"#, #"{"a":"b"}"#]
    )
    func wrongTypes(backend: Backend, value: String) async throws {
        try await expectRejected(
            backend,
            #"{"email":\#(value),"password":\#(value)}"#,
            violations: ["email:type", "password:type"]
        )
    }

    @Test(
        "syntactically invalid addresses are rejected",
        arguments: Backend.allCases,
        [
            "plainaddress", "@example.com", "user@", "user@localhost", "user@@example.com", "a b@example.com",
            "user@exa mple.com", ".user@example.com", "user.@example.com", "us..er@example.com", "user@-example.com",
            "user@example-.com", "user@example..com", "user@192.168.0.1", "user@[127.0.0.1]", "\"quoted\"@example.com",
            "jöhn@example.com", "user@exämple.com", "user\r\nBcc: victim@example.com", "user@example.com\u{0}", "",
        ]
    )
    func invalidEmail(backend: Backend, email: String) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": "long enough password"])
        try await expectRejected(backend, String(decoding: body, as: UTF8.self), violations: ["email:invalid_format"])
    }

    @Test("an address over 254 characters is too long", arguments: Backend.allCases)
    func emailTooLong(backend: Backend) async throws {
        let local = String(repeating: "a", count: 64)
        let domain = Array(repeating: String(repeating: "b", count: 60), count: 4).joined(separator: ".") + ".com"
        let email = "\(local)@\(domain)"
        #expect(email.utf8.count == 312)
        try await expectRejected(
            backend,
            #"{"email":"\#(email)","password":"long enough password"}"#,
            violations: ["email:too_long"]
        )
    }

    @Test(
        "a password shorter than 8 characters is rejected, counting characters rather than bytes",
        arguments: Backend.allCases)
    func passwordTooShort(backend: Backend) async throws {
        try await expectRejected(
            backend, #"{"email":"a@example.com","password":"1234567"}"#, violations: ["password:too_short"])
        // Seven emoji are 28 bytes of UTF-8 but only seven characters.
        try await expectRejected(
            backend,
            #"{"email":"a@example.com","password":"😀😀😀😀😀😀😀"}"#,
            violations: ["password:too_short"]
        )
    }

    @Test("a password longer than 128 characters is rejected", arguments: Backend.allCases)
    func passwordTooLong(backend: Backend) async throws {
        let password = String(repeating: "x", count: 129)
        try await expectRejected(
            backend,
            #"{"email":"a@example.com","password":"\#(password)"}"#, violations: ["password:too_long"])
    }

    @Test("a password equal to the email address is rejected, whatever its case", arguments: Backend.allCases)
    func passwordEqualsEmail(backend: Backend) async throws {
        try await expectRejected(
            backend,
            #"{"email":"Someone@Example.com","password":"someone@example.COM"}"#,
            violations: ["password:equals_email"]
        )
    }

    @Test("a password with control characters is rejected", arguments: Backend.allCases)
    func passwordWithControlCharacters(backend: Backend) async throws {
        try await expectRejected(
            backend,
            #"{"email":"a@example.com","password":"long enough\u0000password"}"#,
            violations: ["password:control_characters"]
        )
    }

    @Test(
        "boundary lengths are accepted: 8 and 128 characters, 8 multi-byte characters, 254-character address",
        arguments: Backend.allCases)
    func boundariesAccepted(backend: Backend) async throws {
        let local = String(repeating: "a", count: 64)
        let domain =
            [String(repeating: "b", count: 63), String(repeating: "c", count: 63), String(repeating: "d", count: 57)]
            .joined(separator: ".") + ".com"
        let longestEmail = "\(local)@\(domain)"
        #expect(longestEmail.utf8.count == 254)
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let cases = [
                    ("eight@example.com", "tz8#kq2!"),
                    ("max@example.com", String(repeating: "y", count: 128)),
                    ("emoji@example.com", "😀😀😀😀😀😀😀😀"),
                    (longestEmail, "long enough password"),
                ]
                for (email, password) in cases {
                    let response = try await client.register(email: email, password: password)
                    #expect(response.status == .accepted, "\(email)")
                }
                #expect(try await env.count("SELECT count(*) FROM users") == 4)
            }
        }
    }

    @Test("malformed JSON is a 400 problem", arguments: Backend.allCases)
    func malformedJSON(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for body in [#"{"email": "#, "not json", #"{"email":"a@example.com","password":"x",}"#, ""] {
                    let response = try await client.postJSON("/v1/register", body)
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                    #expect(response.json["code"] as? String == "malformed_json")
                }
                let invalidUTF8 = try await client.execute(
                    uri: "/v1/register",
                    method: .post,
                    headers: [.contentType: "application/json"],
                    body: ByteBuffer(
                        bytes: Array(#"{"email":""#.utf8) + [0xFF, 0xFE] + Array(#"","password":"12345678"}"#.utf8))
                )
                #expect(invalidUTF8.status == .badRequest)
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
            }
        }
    }

    @Test("a member given twice or nesting too deep is a 400 problem that changes nothing", arguments: Backend.allCases)
    func hostileJSON(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let duplicate = try await client.postJSON(
                    "/v1/register",
                    #"{"email":"a@example.com","password":"long enough","email":"b@example.com"}"#
                )
                #expect(duplicate.status == .badRequest)
                #expect(duplicate.json["code"] as? String == "duplicate_member")
                let deep = try await client.postJSON(
                    "/v1/register",
                    #"{"email":"a@example.com","password":"long enough","x":"# + String(repeating: "[", count: 5000)
                        + String(repeating: "]", count: 5000) + "}"
                )
                #expect(deep.status == .badRequest)
                #expect(deep.json["code"] as? String == "json_too_deep")
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
            }
        }
    }

    @Test("JSON that is not an object is a 422 problem", arguments: Backend.allCases)
    func notAnObject(backend: Backend) async throws {
        try await expectRejected(backend, #"["a@example.com","password"]"#, violations: [":type"])
        try await expectRejected(backend, #""a@example.com""#, violations: [":type"])
    }

    @Test("a body that is not JSON is a 415 problem", arguments: Backend.allCases)
    func wrongContentType(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let body = #"{"email":"a@example.com","password":"long enough"}"#
                for contentType in [
                    "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1",
                ] {
                    let response = try await client.postJSON("/v1/register", body, contentType: contentType)
                    #expect(response.status == .unsupportedMediaType, "\(contentType)")
                    #expect(response.json["code"] as? String == "unsupported_media_type")
                }
                let missing = try await client.execute(
                    uri: "/v1/register", method: .post, body: ByteBuffer(string: body))
                #expect(missing.status == .unsupportedMediaType)
                let withCharset = try await client.postJSON(
                    "/v1/register", body, contentType: "application/json; charset=UTF-8")
                #expect(withCharset.status == .accepted)
            }
        }
    }

    @Test("a body over 16 KiB is a 413 problem", arguments: Backend.allCases, [TestingSetup.router, .live])
    func bodyTooLarge(backend: Backend, setup: TestingSetup) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(setup) { client in
                let padding = String(repeating: "x", count: 16 * 1024)
                let response = try await client.postJSON(
                    "/v1/register",
                    #"{"email":"a@example.com","password":"long enough","pad":"\#(padding)"}"#
                )
                #expect(response.status == .contentTooLarge)
                #expect(response.json["code"] as? String == "body_too_large")
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
            }
        }
    }

    @Test("an unknown route is a 404 problem", arguments: Backend.allCases)
    func unknownRoute(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.execute(uri: "/v1/nothing-here", method: .get)
                #expect(response.status == .notFound)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json["status"] as? Int == 404)
                #expect(response.json["type"] as? String == "/problems/not_found")
            }
        }
    }
}

@Suite("Password policy over HTTP")
struct PasswordPolicyHTTPTests {
    @Test("a common password or one containing the local part is a 422 naming the rule", arguments: Backend.allCases)
    func policyOverHTTP(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let common = try await client.register(email: "new@example.com", password: "Password1")
                #expect(common.status == .unprocessableContent)
                #expect(common.violations == ["password:common_password"])
                let local = try await client.register(email: "marguerite@example.com", password: "marguerite-1987!")
                #expect(local.violations == ["password:contains_email_local_part"])
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
            }
        }
    }
}
