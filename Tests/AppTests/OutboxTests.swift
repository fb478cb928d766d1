import App
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Email outbox")
struct OutboxTests {
    @Test("the request does not send: the email waits in the outbox until the worker runs", arguments: Backend.allCases)
    func requestOnlyQueues(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "queue@example.com", password: "a good passphrase")
                #expect(env.transport.sent.isEmpty)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'pending'") == 1)
                try await env.deliverEmails()
                #expect(env.transport.sent.count == 1)
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM email_outbox WHERE status = 'sent' AND sent_at IS NOT NULL") == 1)
            }
        }
    }

    @Test(
        "a sent email's bodies, which hold the one-time link, are erased from the outbox", arguments: Backend.allCases)
    func sentBodiesAreErased(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "erase@example.com", password: "a good passphrase")
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE text_body LIKE '%token=%'") == 1)
                try await env.deliverEmails()
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM email_outbox WHERE text_body IS NULL AND html_body IS NULL") == 1)
            }
        }
    }

    @Test("a failing transport is retried with growing delays until it succeeds", arguments: Backend.allCases)
    func retriesUntilDelivered(backend: Backend) async throws {
        let transport = CapturingEmailTransport(failFirst: 2)
        try await TestEnvironment.with(backend, transport: transport) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "retry@example.com", password: "a good passphrase")
                let worker = env.makeWorker(settings: OutboxSettings(maxAttempts: 5, retryBaseDelay: .seconds(60)))

                #expect(try await worker.deliverDueEmails() == 1)
                #expect(transport.sent.isEmpty)
                #expect(try await env.count("SELECT attempts FROM email_outbox") == 1)
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM email_outbox WHERE last_error = 'simulated provider outage'") == 1)
                // Backoff: not due again for about a minute, so an immediate poll finds nothing.
                let delay = try await env.secondsUntilNextAttempt()
                #expect((55...60).contains(delay))
                #expect(try await worker.deliverDueEmails() == 0)

                try await env.makeOutboxDue()
                #expect(try await worker.deliverDueEmails() == 1)
                let secondDelay = try await env.secondsUntilNextAttempt()
                #expect((115...120).contains(secondDelay))

                try await env.makeOutboxDue()
                #expect(try await worker.deliverDueEmails() == 1)
                #expect(transport.sent(to: "retry@example.com").count == 1)
                #expect(
                    try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent' AND attempts = 3") == 1
                )
                #expect(env.logs.lines.filter { $0.contains(#""event":"email.retry_scheduled""#) }.count == 2)
                #expect(env.logs.lines.filter { $0.contains(#""event":"email.sent""#) }.count == 1)
            }
        }
    }

    @Test(
        "after the last allowed attempt the email is marked failed, with its reason, and logged",
        arguments: Backend.allCases)
    func givesUpAfterMaxAttempts(backend: Backend) async throws {
        let transport = CapturingEmailTransport(failFirst: 100)
        try await TestEnvironment.with(backend, transport: transport) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "doomed@example.com", password: "a good passphrase")
                let worker = env.makeWorker(settings: OutboxSettings(maxAttempts: 3, retryBaseDelay: .zero))
                for _ in 0..<3 { try await worker.deliverDueEmails() }
                #expect(try await worker.deliverDueEmails() == 0)
                #expect(
                    try await env.count(
                        """
                        SELECT count(*) FROM email_outbox
                        WHERE status = 'failed' AND attempts = 3 AND failed_at IS NOT NULL
                          AND last_error = 'simulated provider outage' AND text_body IS NULL
                        """
                    ) == 1
                )
                let failed = env.logs.lines.filter { $0.contains(#""event":"email.failed""#) }
                #expect(failed.count == 1)
                #expect(failed.first?.contains(#""level":"error""#) == true)
            }
        }
    }

    @Test("two workers draining one outbox send every email exactly once", arguments: Backend.allCases)
    func concurrentWorkersDoNotDoubleSend(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for index in 0..<40 {
                    _ = try await client.register(email: "user\(index)@example.com", password: "a good passphrase")
                }
                let settings = OutboxSettings(batchSize: 3)
                let workers = [env.makeWorker(settings: settings), env.makeWorker(settings: settings)]
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in workers {
                        group.addTask { while try await worker.deliverDueEmails() > 0 {} }
                    }
                    try await group.waitForAll()
                }
                let recipients = env.transport.sent.map(\.to)
                #expect(recipients.count == 40)
                #expect(Set(recipients).count == 40)
                #expect(
                    try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent' AND attempts = 1")
                        == 40)
            }
        }
    }

    @Test("an email claimed by a worker that died is sent by another after the lease", arguments: Backend.allCases)
    func expiredLeaseIsReclaimed(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "lease@example.com", password: "a good passphrase")
                let now = Date()
                let claimed = try await env.database.outbox.claimDueEmails(
                    now: now,
                    limit: 10,
                    leaseUntil: now.addingTimeInterval(120)
                )
                #expect(claimed.count == 1)
                try await env.deliverEmails()
                #expect(env.transport.sent.isEmpty)
                try await env.makeOutboxDue()
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "lease@example.com").count == 1)
                #expect(try await env.count("SELECT attempts FROM email_outbox") == 2)
            }
        }
    }

    @Test("the background worker delivers on its own once the server runs", arguments: Backend.allCases)
    func backgroundWorkerDelivers(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            let app = try await env.makeApplication(runsOutboxWorker: true)
            try await app.test(.router) { client in
                _ = try await client.register(email: "background@example.com", password: "a good passphrase")
                // Wait for the worker (woken by the commit) without asserting on time.
                for _ in 0..<500 where env.transport.sent.isEmpty {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(env.transport.sent(to: "background@example.com").count == 1)
            }
        }
    }

    @Test(
        "the running server resolves a recorded resend request by itself and delivers the link",
        arguments: Backend.allCases)
    func backgroundResolverResends(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            let app = try await env.makeApplication(runsOutboxWorker: true)
            try await app.test(.router) { client in
                _ = try await client.register(email: "again@example.com", password: "a good passphrase")
                _ = try await client.postJSON("/v1/verify/resend", object: ["email": "again@example.com"])
                for _ in 0..<500 where env.transport.sent(to: "again@example.com").count < 2 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(env.transport.sent(to: "again@example.com").count == 2)
                #expect(try await env.count("SELECT count(*) FROM email_requests") == 0)
            }
        }
    }
}
