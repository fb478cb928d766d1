import App
import Foundation
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

@testable import App

/// How the outbox worker acts on each class of failure, its timeout and its concurrency.
@Suite("Outbox delivery: failure classes, timeout, concurrency")
struct OutboxDeliveryTests {
    private func worker(
        _ env: TestEnvironment, _ transport: any EmailTransport, settings: OutboxSettings? = nil,
        health: EmailDeliveryHealth = EmailDeliveryHealth()
    ) -> OutboxWorker {
        OutboxWorker(
            store: env.database.outbox, transport: transport, sender: env.configuration.emailFrom,
            settings: settings ?? OutboxSettings(maxAttempts: 5, retryBaseDelay: .seconds(60)),
            signal: OutboxSignal(), gate: StartupGate(open: true), logger: env.logger, metrics: env.metrics,
            health: health)
    }

    @Test(
        "a send that outlasts the lease keeps its claim: the running worker renews it, no other worker takes it",
        arguments: Backend.allCases)
    func leaseRenewedWhileSending(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, _ in try await Task.sleep(for: .seconds(7)) }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "slow@example.com", password: "a good passphrase")
                let settings = OutboxSettings(
                    pollInterval: .milliseconds(50), claimLease: .seconds(3), sendTimeout: .seconds(30))
                let sending = worker(env, transport, settings: settings)
                let running = Task { try await sending.run() }
                for _ in 0..<1000 where transport.attempts == 0 { try await Task.sleep(for: .milliseconds(10)) }
                #expect(transport.attempts == 1)
                // Another instance polls for longer than the lease while the send is in flight.
                let thief = CapturingEmailTransport()
                let other = worker(env, thief, settings: settings)
                for _ in 0..<60 {
                    try await other.deliverDueEmails()
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(thief.sent.isEmpty)
                for _ in 0..<1000
                where try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 0 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                running.cancel()
                try? await running.value
                #expect(transport.attempts == 1)
                #expect(
                    try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent' AND attempts = 1") == 1
                )
            }
        }
    }

    @Test("a permanent failure marks the email failed at once, without retries", arguments: Backend.allCases)
    func permanentFailsAtOnce(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, _ in
            throw EmailDeliveryError(.permanent, "SMTP 550 5.1.1 at RCPT")
        }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "bounce@example.com", password: "a good passphrase")
                #expect(try await worker(env, transport).deliverDueEmails() == 1)
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM email_outbox WHERE status = 'failed' AND attempts = 1 AND last_error = 'SMTP 550 5.1.1 at RCPT'"
                    ) == 1)
                try await env.makeOutboxDue()
                #expect(try await worker(env, transport).deliverDueEmails() == 0)
                #expect(transport.attempts == 1)
                #expect(
                    env.logs.lines.contains {
                        $0.contains(#""event":"email.failed""#) && $0.contains(#""failure":"permanent""#)
                    })
            }
        }
    }

    @Test(
        "a configuration failure keeps the email's attempts, shows in /health/ready and the gauge, and clears on success",
        arguments: Backend.allCases)
    func configurationFailure(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, number in
            if number <= 2 {
                throw EmailDeliveryError(.configuration, "SMTP 535 at AUTH: the server refused the credentials")
            }
        }
        try await TestEnvironment.with(backend) { env in
            let health = EmailDeliveryHealth()
            let app = try await buildApplication(
                configuration: env.configuration, logger: env.logger,
                options: BuildOptions(transport: transport, runsOutboxWorker: false, metrics: env.metrics))
            try await app.test(.router) { client in
                _ = try await client.register(email: "config@example.com", password: "a good passphrase")
                let worker = worker(env, transport, health: health)
                for _ in 0..<2 {
                    try await env.makeOutboxDue()
                    #expect(try await worker.deliverDueEmails() == 1)
                }
                // Two refused attempts, none counted: the email is still pending with 0 attempts.
                #expect(
                    try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'pending' AND attempts = 0")
                        == 1)
                #expect(health.configurationProblem?.contains("535") == true)
                #expect(
                    String(decoding: env.metrics.render(), as: UTF8.self).contains(
                        #"email_transport_configuration_error{transport="scripted"} 1"#))
                // Logged at error level once, not per attempt.
                #expect(env.logs.lines.filter { $0.contains(#""event":"email.transport_misconfigured""#) }.count == 1)

                try await env.makeOutboxDue()
                #expect(try await worker.deliverDueEmails() == 1)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 1)
                #expect(health.configurationProblem == nil)
                #expect(
                    String(decoding: env.metrics.render(), as: UTF8.self).contains(
                        #"email_transport_configuration_error{transport="scripted"} 0"#))
            }
        }
    }

    @Test("/health/ready stays 200 but names a misconfigured email transport", arguments: [Backend.sqlite])
    func readinessDetail(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, _ in
            throw EmailDeliveryError(.configuration, "SendGrid HTTP 401: SendGrid refused the API key")
        }
        try await TestEnvironment.with(backend) { env in
            let app = try await buildApplication(
                configuration: env.configuration, logger: env.logger,
                options: BuildOptions(transport: transport, runsOutboxWorker: true, metrics: env.metrics))
            try await app.test(.router) { client in
                _ = try await client.register(email: "ready@example.com", password: "a good passphrase")
                var body = ""
                for _ in 0..<500 {
                    let response = try await client.execute(uri: "/health/ready", method: .get)
                    #expect(response.status == .ok)
                    body = String(buffer: response.body)
                    if body.contains("configuration_error") { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(body.contains(#""email":"configuration_error""#))
                #expect(body.contains("SendGrid HTTP 401"))
            }
        }
    }

    @Test("a transient failure waits at least as long as the provider's Retry-After", arguments: Backend.allCases)
    func honoursRetryAfter(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, _ in
            throw EmailDeliveryError(.transient, "SendGrid HTTP 429", retryAfter: .seconds(600))
        }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "slowdown@example.com", password: "a good passphrase")
                #expect(try await worker(env, transport).deliverDueEmails() == 1)
                #expect((595...600).contains(try await env.secondsUntilNextAttempt()))
            }
        }
    }

    @Test(
        "a send that outlasts EMAIL_SEND_TIMEOUT_MS is abandoned as transient and retried", arguments: Backend.allCases)
    func sendTimeout(backend: Backend) async throws {
        let transport = ScriptedEmailTransport { _, number in
            if number == 1 { try await Task.sleep(for: .seconds(3600)) }
        }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "hang@example.com", password: "a good passphrase")
                let settings = OutboxSettings(
                    maxAttempts: 5, retryBaseDelay: .seconds(60), sendTimeout: .milliseconds(200))
                #expect(try await worker(env, transport, settings: settings).deliverDueEmails() == 1)
                #expect(
                    try await env.count(
                        "SELECT count(*) FROM email_outbox WHERE status = 'pending' AND last_error LIKE 'no answer within EMAIL_SEND_TIMEOUT_MS%'"
                    ) == 1)
                try await env.makeOutboxDue()
                #expect(try await worker(env, transport, settings: settings).deliverDueEmails() == 1)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 1)
            }
        }
    }

    @Test("the worker keeps OUTBOX_CONCURRENCY emails in flight, and sends each once", arguments: Backend.allCases)
    func concurrency(backend: Backend) async throws {
        let gate = AsyncGate()
        let transport = ScriptedEmailTransport { _, _ in await gate.wait() }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for index in 0..<12 {
                    _ = try await client.register(email: "many\(index)@example.com", password: "a good passphrase")
                }
                let settings = OutboxSettings(batchSize: 20, concurrency: 4)
                let delivery = Task { try await worker(env, transport, settings: settings).deliverDueEmails() }
                // Open the gate once four sends wait behind it: a fifth would only start if the
                // bound were broken.
                while transport.attempts < 4 { try await Task.sleep(for: .milliseconds(5)) }
                await gate.open()
                #expect(try await delivery.value == 12)
                #expect(transport.maxInFlight == 4)
                #expect(transport.attempts == 12)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 12)
            }
        }
    }

    @Test("two instances' workers share one outbox: every email is sent exactly once", arguments: Backend.allCases)
    func twoWorkersShareTheOutbox(backend: Backend) async throws {
        let sent = NIOLockedValueBox<[UUID]>([])
        let transport = ScriptedEmailTransport { message, _ in
            try await Task.sleep(for: .milliseconds(5))
            sent.withLockedValue { $0.append(message.id) }
        }
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for index in 0..<30 {
                    _ = try await client.register(email: "shared\(index)@example.com", password: "a good passphrase")
                }
                let settings = OutboxSettings(batchSize: 4, concurrency: 4)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            let worker = worker(env, transport, settings: settings)
                            while try await worker.deliverDueEmails() > 0 {}
                        }
                    }
                    try await group.waitForAll()
                }
                let ids = sent.withLockedValue { $0 }
                #expect(ids.count == 30)
                #expect(Set(ids).count == 30)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 30)
            }
        }
    }
}

/// Holds every waiter until opened.
actor AsyncGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for waiter in waiters { waiter.resume() }
        waiters = []
    }
}
