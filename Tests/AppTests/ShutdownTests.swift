import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing

@testable import App

#if canImport(Glibc)
import Glibc
#endif

/// A provider that takes a while per email, so a shutdown can arrive mid-delivery.
final class SlowEmailTransport: EmailTransport {
    private let sentMessages = NIOLockedValueBox<[EmailMessage]>([])
    var name: String { "slow" }

    func send(_ message: EmailMessage) async throws {
        try? await Task.sleep(for: .milliseconds(300))
        sentMessages.withLockedValue { $0.append(message) }
    }

    var sent: [EmailMessage] { sentMessages.withLockedValue { $0 } }
}

@Suite("Graceful shutdown")
struct ShutdownTests {
    private func freePort() throws -> Int {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Sends one request with `Connection: close` and returns the whole response.
    private func request(_ port: Int, _ head: String, body: String = "") async throws -> String {
        let connection = try RawConnection(port: port)
        connection.send(
            head + "Host: localhost\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        return await connection.readUntilClosed(timeout: 60).text
    }

    private func waitUntilReady(_ port: Int) async throws {
        for _ in 0..<500 {
            if let response = try? await request(port, "GET /health/ready HTTP/1.1\r\n"),
                response.hasPrefix("HTTP/1.1 200")
            {
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the server did not become ready")
    }

    @Test(
        "SIGTERM-style shutdown: the in-flight request completes, the email being sent finishes, the rest are sent exactly once after a restart",
        arguments: Backend.allCases)
    func gracefulShutdown(backend: Backend) async throws {
        let transport = SlowEmailTransport()
        try await TestEnvironment.with(backend) { env in
            var configuration = env.configuration
            configuration.port = try freePort()
            configuration.bcryptCost = 12  // a slow request: one real-cost hash
            // Five emails wait in the outbox when the server starts.
            try await env.database.migrate(logger: env.logger)
            try await env.database.accounts.withTransaction { transaction in
                for index in 0..<5 {
                    try await transaction.enqueueEmail(
                        OutboxEmail(
                            EmailTemplates.alreadyRegistered(), to: "queued\(index)@example.com", at: Date(),
                            requestID: nil)
                    )
                }
            }
            let options = BuildOptions(transport: transport, runsOutboxWorker: true)
            let first = try await buildApplication(configuration: configuration, logger: env.logger, options: options)
            let group = ServiceGroup(configuration: .init(services: [first], logger: env.logger))
            let running = Task { try await group.run() }
            try await waitUntilReady(configuration.port)

            let port = configuration.port
            let slowRequest = Task {
                try await request(
                    port,
                    "POST /v1/register HTTP/1.1\r\nContent-Type: application/json\r\n",
                    body: #"{"email":"inflight@example.com","password":"a good passphrase"}"#
                )
            }
            // The request is in flight once it has passed the rate limiter, just before the
            // (slow, real-cost) password hash.
            for _ in 0..<1000 where try await env.count("SELECT count(*) FROM rate_limit_counters") == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
            await group.triggerGracefulShutdown()
            try await running.value  // the group, like the process, ends without an error

            let response = try await slowRequest.value
            #expect(response.hasPrefix("HTTP/1.1 202"))
            // The server drains first, then the worker stops after the email it is sending;
            // how many went out before depends on timing, and does not matter: below, every
            // email is sent exactly once in total.

            let second = try await buildApplication(configuration: configuration, logger: env.logger, options: options)
            let secondGroup = ServiceGroup(configuration: .init(services: [second], logger: env.logger))
            let secondRun = Task { try await secondGroup.run() }
            for _ in 0..<1000
            where try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'pending'") > 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            await secondGroup.triggerGracefulShutdown()
            try await secondRun.value

            let recipients = transport.sent.map(\.to)
            #expect(recipients.count == 6)
            #expect(Set(recipients).count == 6)
            #expect(recipients.contains("inflight@example.com"))
        }
    }
}
