import App
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Registration")
struct RegistrationTests {
    @Test("a new address gets a pending account, a token and one verification email", arguments: Backend.allCases)
    func newAddressIsPending(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let response = try await client.register(email: "new@example.com", password: "a fine passphrase")
                #expect(response.status == .accepted)
                #expect(response.json["status"] as? String == "accepted")
                let account = try await env.account("new@example.com")
                #expect(account?.status == "pending")
                #expect(account?.passwordHash == nil)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE kind = 'verification'") == 1)
                try await env.deliverEmails()
                let emails = env.transport.sent(to: "new@example.com")
                #expect(emails.count == 1)
                #expect(emails.first?.from.value == "no-reply@example.test")
                let token = try #require(emails.first.flatMap { verificationToken(in: $0.textBody) })
                #expect(
                    emails.first?.textBody.contains("https://accounts.example.test/v1/verify?token=\(token)") == true)
                #expect(
                    emails.first?.htmlBody.contains("https://accounts.example.test/v1/verify?token=\(token)") == true)
            }
        }
    }

    @Test("register, follow the emailed link over real HTTP, and the account is active", arguments: Backend.allCases)
    func fullFlowOverHTTP(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(.live) { client in
                let registered = try await client.register(email: "Flow@Example.com", password: "correct horse battery")
                #expect(registered.status == .accepted)
                try await env.deliverEmails()
                let email = try #require(env.transport.sent(to: "flow@example.com").first)
                let token = try #require(verificationToken(in: email.textBody))
                let verified = try await client.verify(token: token)
                #expect(verified.status == .ok)
                #expect(verified.json["status"] as? String == "verified")
                let account = try await env.account("flow@example.com")
                #expect(account?.status == "active")
                #expect(account?.verified == true)
                let hash = try #require(account?.passwordHash)
                #expect(try await PasswordHasher(cost: 4).verify("correct horse battery", against: hash))
            }
        }
    }

    @Test("the answer is identical for a new, a pending and an active address", arguments: Backend.allCases)
    func answerDoesNotRevealAccounts(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let new = try await client.register(email: "same@example.com", password: "first passphrase")
                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent(to: "same@example.com")[0].textBody))
                let pending = try await client.register(email: "same@example.com", password: "second passphrase")
                #expect(try await client.verify(token: token, password: "first passphrase").status == .ok)
                let active = try await client.register(email: "same@example.com", password: "third passphrase")
                for response in [new, pending, active] {
                    #expect(response.status == .accepted)
                    #expect(response.text == new.text)
                    #expect(response.headers[.contentType] == new.headers[.contentType])
                }
            }
        }
    }

    @Test("addresses are unique regardless of case and surrounding white space", arguments: Backend.allCases)
    func caseInsensitiveDuplicates(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let first = try await client.register(email: "Bob@Example.COM", password: "a private passphrase")
                let second = try await client.register(email: "  bob@example.com ", password: "a private passphrase")
                #expect(first.status == .accepted)
                #expect(second.status == .accepted)
                #expect(try await env.count("SELECT count(*) FROM users") == 1)
                #expect(try await env.count("SELECT count(*) FROM users WHERE email = 'Bob@Example.COM'") == 1)
            }
        }
    }

    @Test(
        "an active address gets an 'already registered' email and its account does not change",
        arguments: Backend.allCases)
    func activeAddressGetsNotice(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                _ = try await client.register(email: "carol@example.com", password: "a private passphrase")
                try await env.deliverEmails()
                let token = try #require(verificationToken(in: env.transport.sent(to: "carol@example.com")[0].textBody))
                _ = try await client.verify(token: token)
                let before = try await env.account("carol@example.com")

                #expect(
                    try await client.register(email: "CAROL@example.com", password: "attacker's passphrase").status
                        == .accepted)
                try await env.deliverEmails()

                let emails = env.transport.sent(to: "carol@example.com")
                #expect(emails.count == 2)
                #expect(emails.last?.subject == "You already have an account")
                #expect(emails.last.map { verificationToken(in: $0.textBody) } == .some(nil))
                let after = try await env.account("carol@example.com")
                #expect(after?.passwordHash == before?.passwordHash)
                #expect(after?.status == "active")
                #expect(try await env.count("SELECT count(*) FROM verification_tokens WHERE used_at IS NULL") == 0)
            }
        }
    }

    @Test(
        "20 concurrent registrations of one address: one account, twenty 202s, twenty verification emails",
        arguments: Backend.allCases)
    func concurrentDuplicates(backend: Backend) async throws {
        try await TestEnvironment.with(backend, configure: TestEnvironment.patientDatabase) { env in
            // The live test client has one connection and sends one request at a time; through
            // the router the requests really run at once.
            try await env.withApp(.router) { client in
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<20 {
                        group.addTask {
                            let email = index.isMultiple(of: 2) ? "race@example.com" : "RACE@example.com"
                            return try await client.register(email: email, password: "passphrase number \(index)")
                                .status.code
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses == Array(repeating: 202, count: 20))
                #expect(try await env.count("SELECT count(*) FROM users") == 1)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 20)
                try await env.deliverEmails()
                let emails = env.transport.sent(to: "race@example.com")
                #expect(emails.count == 20)
                #expect(Set(emails.compactMap { verificationToken(in: $0.textBody) }).count == 20)
            }
        }
    }

    @Test(
        "registration emails to one address are capped (one per EMAIL_COOLDOWN, a few per hour) while the answer stays 202",
        arguments: Backend.allCases)
    func emailCap(backend: Backend) async throws {
        try await TestEnvironment.with(
            backend,
            configure: {
                // A day: the cooldown counts in fixed windows, and a minute's window could end
                // between two of the registrations below.
                $0.accounts.emailCooldown = .seconds(86400)
                $0.accounts.registrationEmailsPerHour = 2
            }
        ) { env in
            try await env.withApp { client in
                // A third party registering a chosen address over and over: one link, not five.
                var answers: [String] = []
                for index in 0..<5 {
                    let response = try await client.register(
                        email: "flooded@example.com", password: "flood \(index) pass")
                    answers.append("\(response.status.code) \(response.text)")
                }
                #expect(Set(answers).count == 1)
                #expect(answers[0].hasPrefix("202"))
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "flooded@example.com").count == 1)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                // The next cooldown window allows one more; the hourly cap (2) then stops them.
                try await env.execute(
                    postgres:
                        "UPDATE rate_limit_counters SET window_start = window_start - interval '86401 seconds' WHERE bucket LIKE 'registration-email:cooldown:%'",
                    sqlite:
                        "UPDATE rate_limit_counters SET window_start = window_start - 86401 WHERE bucket LIKE 'registration-email:cooldown:%'"
                )
                _ = try await client.register(email: "flooded@example.com", password: "flood 6 pass")
                try await env.execute(
                    postgres:
                        "UPDATE rate_limit_counters SET window_start = window_start - interval '86401 seconds' WHERE bucket LIKE 'registration-email:cooldown:%'",
                    sqlite:
                        "UPDATE rate_limit_counters SET window_start = window_start - 86401 WHERE bucket LIKE 'registration-email:cooldown:%'"
                )
                _ = try await client.register(email: "flooded@example.com", password: "flood 7 pass")
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "flooded@example.com").count == 2)
                // An active address's "already registered" notices are capped the same way.
                try await env.activate(client, email: "owner@example.com", password: "a strong passphrase")
                let before = env.transport.sent(to: "owner@example.com").count
                try await env.execute(
                    postgres:
                        "UPDATE rate_limit_counters SET window_start = window_start - interval '86401 seconds' WHERE bucket LIKE 'registration-email:cooldown:%'",
                    sqlite:
                        "UPDATE rate_limit_counters SET window_start = window_start - 86401 WHERE bucket LIKE 'registration-email:cooldown:%'"
                )
                for _ in 0..<3 { _ = try await client.register(email: "owner@example.com", password: "another pass") }
                try await env.deliverEmails()
                #expect(env.transport.sent(to: "owner@example.com").count == before + 1)
            }
        }
    }

    @Test("when a step of the transaction fails, nothing of the registration is kept", arguments: Backend.allCases)
    func failedTransactionRollsBack(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                // A real database failure at the last statement: the outbox insert.
                try await env.makeOutboxInsertsFail()
                let response = try await client.register(email: "dave@example.com", password: "a private passphrase")
                #expect(response.status == .internalServerError)
                #expect(response.json["code"] as? String == "internal_error")
                #expect(!response.text.contains("outbox unavailable"))
                #expect(!response.text.lowercased().contains("insert"))
                #expect(try await env.count("SELECT count(*) FROM users") == 0)
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 0)
                #expect(try await env.count("SELECT count(*) FROM email_outbox") == 0)
            }
        }
    }
}
