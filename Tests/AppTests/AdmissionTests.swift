import Foundation
import HummingbirdTesting
import NIOCore
import Testing

@testable import App

@Suite("Password hashing under load")
struct AdmissionTests {
    @Test("with every worker busy, a hash is admitted only while the queue ahead of it fits the budget")
    func estimate() throws {
        // Two workers, 400 ms per hash, none started yet (so each frees up after 400 ms, then
        // every 400 ms). With both busy and w hashes waiting, a new one starts at the (w + 1)-th
        // freeing and finishes 400 ms later: 800 ms with none or one waiting, 1,200 with two.
        // With a budget of 1.05 s, two run and two wait; the fifth is refused.
        let admission = HashAdmission(workers: 2, budget: .milliseconds(1050), initialAverage: .milliseconds(400))
        for _ in 0..<4 { try admission.admit() }
        #expect(admission.queued == 4)
        let refusal = #expect(throws: HashQueueFull.self) { try admission.admit() }
        #expect(refusal?.retryAfter == 2)  // 1.2 s, rounded up
        let start = admission.started()
        admission.finished(startedAt: start, after: .milliseconds(400))
        try admission.admit()
        admission.abandoned()
        #expect(admission.queued == 3)
    }

    @Test("how long the running hashes have run counts: a request is admitted once it would be on time")
    func runningTime() throws {
        // One worker, 100 ms per hash, 150 ms budget: behind a hash that just started a new one
        // would finish after 200 ms; behind one that has run 60 ms, after 140 ms.
        let admission = HashAdmission(workers: 1, budget: .milliseconds(150), initialAverage: .milliseconds(100))
        let t0 = ContinuousClock.now
        try admission.admit(now: t0)
        let start = admission.started(at: t0)
        #expect(throws: HashQueueFull.self) { try admission.check(now: t0 + .milliseconds(10)) }
        #expect(throws: HashQueueFull.self) { try admission.admit(now: t0 + .milliseconds(10)) }
        try admission.admit(now: t0 + .milliseconds(60))
        #expect(admission.queued == 2)
        // A third would wait for both: refused.
        #expect(throws: HashQueueFull.self) { try admission.admit(now: t0 + .milliseconds(60)) }
        admission.finished(startedAt: start, after: .milliseconds(100))
        #expect(admission.queued == 1)
    }

    @Test("checking capacity refuses as admitting would, without reserving a place")
    func check() throws {
        let admission = HashAdmission(workers: 1, budget: .milliseconds(150), initialAverage: .milliseconds(100))
        try admission.check()
        #expect(admission.queued == 0)
        try admission.admit()  // the worker is busy; one waiting would finish after 200 ms
        #expect(throws: HashQueueFull.self) { try admission.check() }
        #expect(admission.queued == 1)
        admission.abandoned()
        try admission.check()
    }

    @Test("with a worker free a hash is always admitted, however slow hashes are")
    func freeWorker() throws {
        let admission = HashAdmission(workers: 2, budget: .milliseconds(100), initialAverage: .seconds(5))
        try admission.admit()
        try admission.admit()
        #expect(throws: HashQueueFull.self) { try admission.admit() }
        admission.abandoned()
        try admission.admit()
    }

    @Test("the average follows measured hash times")
    func learns() throws {
        let admission = HashAdmission(workers: 1, budget: .seconds(10), initialAverage: .milliseconds(100))
        for _ in 0..<50 {
            try admission.admit()
            admission.finished(startedAt: admission.started(), after: .milliseconds(300))
        }
        #expect(abs(admission.averageHashTime - 0.3) < 0.001)
    }

    @Test(
        "when every worker is busy, further registrations get a fast 503; verification and health still work",
        arguments: Backend.allCases
    )
    func overloaded(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            // A pending account and its link, made while the service is not overloaded.
            let token = try await env.withApp { client in
                _ = try await client.register(email: "early@example.com", password: "a good passphrase")
                try await env.deliverEmails()
                return try #require(verificationToken(in: env.transport.sent(to: "early@example.com")[0].textBody))
            }
            var saturated = env.configuration
            saturated.hashQueueBudget = .zero  // nothing may queue behind a busy worker
            saturated.bcryptCost = 11  // slow enough that the burst below arrives while they work
            let app = try await buildApplication(
                configuration: saturated,
                logger: env.logger,
                options: BuildOptions(transport: env.transport, runsOutboxWorker: false)
            )
            let workers = System.coreCount
            try await app.test(.router) { client in
                let burst = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for index in 0..<(workers + 6) {
                        group.addTask {
                            let response = try await client.register(
                                email: "burst\(index)@example.com",
                                password: "a good passphrase"
                            )
                            return (response.status.code, response.headers[.retryAfter])
                        }
                    }
                    return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
                }
                #expect(burst.allSatisfy { $0.0 == 202 || $0.0 == 503 })
                #expect(burst.contains { $0.0 == 202 })
                #expect(burst.contains { $0.0 == 503 })
                #expect(burst.filter { $0.0 == 503 }.allSatisfy { $0.1.flatMap(Int.init) != nil })
                let verified = try await client.verify(token: token)
                #expect(verified.status == .ok)
                let ready = try await client.execute(uri: "/health/ready", method: .get)
                #expect(ready.status == .ok)
            }
            let accepted = try await env.count("SELECT count(*) FROM users WHERE email LIKE 'burst%'")
            #expect(accepted >= 1)
            #expect(!env.logs.lines.contains { $0.contains(#""event":"http.error""#) })
        }
    }

    @Test(
        "a password reset under hashing overload answers 503 with Retry-After, never 500", arguments: Backend.allCases)
    func resetOverloaded(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            let token = try await env.withApp { client in
                try await env.activate(client, email: "reset@example.com", password: "a good passphrase")
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": "reset@example.com"])
                try await env.deliverEmails()
                let email = try #require(env.transport.sent(to: "reset@example.com").last)
                return try #require(resetToken(in: email.textBody))
            }
            var saturated = env.configuration
            saturated.hashQueueBudget = .zero
            saturated.bcryptCost = 11
            let app = try await buildApplication(
                configuration: saturated, logger: env.logger,
                options: BuildOptions(transport: env.transport, runsOutboxWorker: false))
            try await app.test(.router) { client in
                let burst = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                    for _ in 0..<(System.coreCount + 6) {
                        group.addTask {
                            let response = try await client.postJSON(
                                "/v1/password/reset", object: ["token": token, "password": "a new passphrase"])
                            return (response.status.code, response.headers[.retryAfter])
                        }
                    }
                    return try await group.reduce(into: [(Int, String?)]()) { $0.append($1) }
                }
                #expect(burst.allSatisfy { [204, 410, 503].contains($0.0) })
                #expect(burst.contains { $0.0 == 503 })
                #expect(burst.filter { $0.0 == 503 }.allSatisfy { $0.1.flatMap(Int.init) != nil })
            }
            #expect(!env.logs.lines.contains { $0.contains(#""event":"http.error""#) })
        }
    }
}
