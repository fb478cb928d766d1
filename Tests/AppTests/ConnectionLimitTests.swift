import Foundation
import HummingbirdTesting
import Testing

@testable import App

/// The connection cap (`MAX_CONNECTIONS`) is proven against the real executable by
/// `scripts/smoke-test`, where the server runs as operators run it.
@Suite("Resource limits")
struct ConnectionLimitTests {
    @Test("a client that stops sending mid-request is disconnected after the idle timeout")
    func slowClient() async throws {
        try await TestEnvironment.with(.sqlite, configure: { $0.http.idleTimeout = .seconds(1) }) { env in
            try await env.withApp(.live) { client in
                let connection = try RawConnection(port: try #require(client.port))
                connection.send("POST /v1/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n")
                // Generous bound: the assertion is that the server hangs up, not how fast.
                let (_, closed) = await connection.readUntilClosed(timeout: 20)
                #expect(closed)
            }
        }
    }

    @Test("request headers over 16 KiB are refused")
    func oversizedHeaders() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp(.live) { client in
                let connection = try RawConnection(port: try #require(client.port))
                let padding = String(repeating: "a", count: 20 * 1024)
                connection.send("GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Padding: \(padding)\r\n\r\n")
                let (text, _) = await connection.readUntilClosed(timeout: 20)
                #expect(text.hasPrefix("HTTP/1.1 400") || text.hasPrefix("HTTP/1.1 431"))
            }
        }
    }

    @Test("a body over 16 KiB announced by Content-Length is refused before it is sent")
    func oversizedBodyRefusedEarly() async throws {
        try await TestEnvironment.with(.sqlite) { env in
            try await env.withApp(.live) { client in
                let connection = try RawConnection(port: try #require(client.port))
                connection.send(
                    "POST /v1/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 10000000\r\n\r\n{\"email\":"
                )
                let (text, _) = await connection.readUntilClosed(timeout: 20)
                #expect(text.hasPrefix("HTTP/1.1 413"))
            }
        }
    }

    @Test("a client trickling its request head is disconnected at REQUEST_TIMEOUT although it never goes idle")
    func slowloris() async throws {
        try await TestEnvironment.with(.sqlite, configure: { $0.http.requestTimeout = .seconds(2) }) { env in
            try await env.withApp(.live) { client in
                let connection = try RawConnection(port: try #require(client.port))
                // A byte every 200 ms: never idle for the 30 s idle timeout, headers never complete.
                connection.trickle(
                    "GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + String(repeating: "a", count: 200),
                    pauseMilliseconds: 200
                )
                let (text, closed) = await connection.readUntilClosed(timeout: 20)
                #expect(closed)
                #expect(!text.hasPrefix("HTTP/1.1 200"))
            }
        }
    }

    @Test("a body that does not arrive within REQUEST_TIMEOUT gets 408")
    func slowBody() async throws {
        try await TestEnvironment.with(.sqlite, configure: { $0.http.requestTimeout = .seconds(2) }) { env in
            try await env.withApp(.live) { client in
                let connection = try RawConnection(port: try #require(client.port))
                connection.send(
                    "POST /v1/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 100\r\n\r\n{\"email\":"
                )
                let (text, _) = await connection.readUntilClosed(timeout: 20)
                #expect(text.hasPrefix("HTTP/1.1 408"))
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
            }
        }
    }
}
