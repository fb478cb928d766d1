import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import App

@Suite("Structured logs and request ids")
struct LoggingTests {
    private func parsed(_ lines: [String]) -> [[String: Any]] {
        lines.compactMap { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if object == nil { Issue.record("log line is not a JSON object: \(line)") }
            return object
        }
    }

    @Test(
        "timestamps are RFC 3339 UTC with milliseconds, as Foundation's ISO 8601 style writes them",
        arguments: [0, 0.125, 1_764_410_703.5, 1_764_410_703.25, 951_782_400.875, -1.5, 4_102_444_799.0])
    func timestamps(seconds: Double) {
        let date = Date(timeIntervalSince1970: seconds)
        let reference = date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
        #expect(JSONLogHandler.timestamp(date) == reference)
    }

    @Test("no log line, even at trace level, contains the password, its hash or the token", arguments: Backend.allCases)
    func secretsNeverLogged(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(.live) { client in
                let password = "Sup3r-Secret-Passphrase"
                _ = try await client.register(email: "quiet@example.com", password: password)
                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent[0].textBody))
                _ = try await client.verify(token: token)
                _ = try await client.verify(token: token, accept: "text/html")
                let hash = try #require(try await env.account("quiet@example.com")?.passwordHash)
                let lines = env.logs.lines
                #expect(lines.count > 5)
                for line in lines {
                    #expect(!line.contains(password))
                    #expect(!line.contains(token))
                    #expect(!line.contains(String(hash.suffix(31))))
                }
            }
        }
    }

    @Test(
        "every request logs one line with method, route pattern, status, duration and request id",
        arguments: Backend.allCases)
    func accessLogLine(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.execute(
                    uri: "/v1/verify?token=secret-looking-value",
                    method: .get,
                    headers: [HTTPField.Name("X-Request-ID")!: "client-id-42"]
                )
                #expect(response.headers[HTTPField.Name("X-Request-ID")!] == "client-id-42")
                let requests = parsed(env.logs.lines).filter { $0["event"] as? String == "http.request" }
                #expect(requests.count == 1)
                let line = try #require(requests.first)
                #expect(line["method"] as? String == "GET")
                #expect(line["route"] as? String == "/v1/verify")
                #expect(line["status"] as? String == "400")
                #expect(line["request_id"] as? String == "client-id-42")
                #expect(line["duration_ms"] != nil)
                #expect(line["timestamp"] != nil && line["level"] as? String == "info")
                #expect(!env.logs.lines.joined().contains("secret-looking-value"))
            }
        }
    }

    @Test("an unsafe incoming request id is replaced by a generated one", arguments: Backend.allCases)
    func unsafeRequestIDReplaced(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for hostile in ["has space", String(repeating: "a", count: 65), "line\u{7F}break", "quote\"d"] {
                    let response = try await client.execute(
                        uri: "/health/live",
                        method: .get,
                        headers: [HTTPField.Name("X-Request-ID")!: hostile]
                    )
                    let echoed = try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                    #expect(echoed != hostile)
                    #expect(echoed.count == 32)
                }
                let generated = try await client.execute(uri: "/health/live", method: .get)
                #expect(generated.headers[HTTPField.Name("X-Request-ID")!]?.count == 32)
            }
        }
    }

    @Test(
        "business events carry the request id, including the email.sent line of the email the request caused",
        arguments: Backend.allCases)
    func businessEvents(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.execute(
                    uri: "/v1/register",
                    method: .post,
                    headers: [.contentType: "application/json", HTTPField.Name("X-Request-ID")!: "reg-1"],
                    body: .init(string: #"{"email":"events@example.com","password":"a good passphrase"}"#)
                )
                #expect(response.status == .accepted)
                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent[0].textBody))
                _ = try await client.verify(token: token)
                let lines = parsed(env.logs.lines)
                let registered = lines.first { $0["event"] as? String == "user.registered" }
                #expect(registered?["request_id"] as? String == "reg-1")
                #expect(registered?["user_id"] != nil)
                let sent = lines.first { $0["event"] as? String == "email.sent" }
                #expect(sent?["request_id"] as? String == "reg-1")
                #expect(sent?["kind"] as? String == "verification")
                #expect(lines.contains { $0["event"] as? String == "user.verified" })
            }
        }
    }

    @Test("a 500 logs the error type but the response reveals nothing internal", arguments: Backend.allCases)
    func internalErrorsAreOpaque(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.execute("DROP TABLE email_outbox")
                let response = try await client.register(email: "broken@example.com", password: "a good passphrase")
                #expect(response.status == .internalServerError)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(!response.text.contains("email_outbox"))
                #expect(!response.text.contains("PSQL"))
                #expect(!response.text.contains("SQLite"))
                #expect(env.logs.lines.contains { $0.contains(#""event":"http.error""#) })
            }
        }
    }
}
