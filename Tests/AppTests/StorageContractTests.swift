import Foundation
import Logging
import Testing

@testable import App

/// The behaviour every `Database` implementation must have, run against each of them, so the
/// PostgreSQL and SQLite stores cannot drift apart.
@Suite("Storage contract")
struct StorageContractTests {
    private struct Rollback: Error {}

    /// A migrated, empty database of `backend` and a test environment for row assertions.
    private func withStore(_ backend: Backend, _ body: (TestEnvironment) async throws -> Void) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.database.migrate(logger: env.logger)
            try await body(env)
        }
    }

    private func newAccount(_ email: String) -> NewAccount {
        NewAccount(id: UUID(), email: EmailAddress(email)!, createdAt: Date())
    }

    private func token(
        for accountID: UUID, password: String = "hash", expiresIn seconds: TimeInterval = 3600
    )
        -> (OpaqueToken, NewVerificationToken)
    {
        let token = OpaqueToken.generate()
        let now = Date()
        return (
            token,
            NewVerificationToken(
                tokenHash: token.hash,
                accountID: accountID,
                passwordHash: password,
                createdAt: now,
                expiresAt: now.addingTimeInterval(seconds)
            )
        )
    }

    private func email(_ recipient: String, dueIn seconds: TimeInterval = 0) -> OutboxEmail {
        OutboxEmail(
            id: UUID(),
            kind: "verification",
            recipient: recipient,
            subject: "Subject",
            textBody: "text with token=secret",
            htmlBody: "<p>html</p>",
            createdAt: Date().addingTimeInterval(seconds),
            requestID: "request-1"
        )
    }

    @Test(
        "claiming an address creates it once; the same address in any case returns the owner",
        arguments: Backend.allCases)
    func claimAddress(backend: Backend) async throws {
        try await withStore(backend) { env in
            let first = newAccount("Owner@Example.com")
            let created = try await env.database.accounts.withTransaction { try await $0.claimAddress(first) }
            #expect(created == AccountClaim(id: first.id, status: .pending, created: true))
            let again = try await env.database.accounts.withTransaction {
                try await $0.claimAddress(newAccount("owner@EXAMPLE.com"))
            }
            #expect(again == AccountClaim(id: first.id, status: .pending, created: false))
            #expect(try await env.count("SELECT count(*) FROM users") == 1)
        }
    }

    @Test("a transaction that throws leaves nothing behind", arguments: Backend.allCases)
    func rollback(backend: Backend) async throws {
        try await withStore(backend) { env in
            await #expect(throws: Rollback.self) {
                try await env.database.accounts.withTransaction { transaction in
                    let claim = try await transaction.claimAddress(newAccount("gone@example.com"))
                    try await transaction.insertVerificationToken(token(for: claim.id).1)
                    try await transaction.enqueueEmail(email("gone@example.com"))
                    throw Rollback()
                }
            }
            for table in ["users", "verification_tokens", "email_outbox"] {
                let rows = try await env.count("SELECT count(*) FROM \(table)")
                #expect(rows == 0, "\(table)")
            }
        }
    }

    @Test(
        "using a verification token: unknown, expired, password required while another registration waits, activated with its password (the others retired), then already active",
        arguments: Backend.allCases)
    func useVerificationToken(backend: Backend) async throws {
        try await withStore(backend) { env in
            let accounts = env.database.accounts
            let (kept, other, stale, accountID) = try await accounts.withTransaction { transaction in
                let claim = try await transaction.claimAddress(newAccount("use@example.com"))
                let (kept, keptRow) = token(for: claim.id, password: "kept-hash")
                let (other, otherRow) = token(for: claim.id, password: "other-hash")
                try await transaction.insertVerificationToken(keptRow)
                try await transaction.insertVerificationToken(otherRow)
                let staleClaim = try await transaction.claimAddress(newAccount("stale@example.com"))
                let (stale, staleRow) = token(for: staleClaim.id, password: "stale-hash", expiresIn: -1)
                try await transaction.insertVerificationToken(staleRow)
                return (kept, other, stale, claim.id)
            }
            let now = Date()
            let unknown = try await accounts.useVerificationToken(hash: OpaqueToken.generate().hash, at: now)
            #expect(unknown == .unknown)
            let expired = try await accounts.useVerificationToken(hash: stale.hash, at: now)
            #expect(expired == .expired)
            let staleAccount = try #require(try await env.account("stale@example.com"))
            #expect(staleAccount.status == "pending")

            // Two registrations with different passwords wait: a link alone changes nothing.
            let ambiguous = try await accounts.useVerificationToken(hash: kept.hash, at: now)
            #expect(ambiguous == .passwordRequired(accountID: accountID))
            #expect(try await env.account("use@example.com")?.status == "pending")
            let activated = try await accounts.useVerificationToken(hash: kept.hash, at: now, passwordChecked: true)
            let account = try #require(try await env.account("use@example.com"))
            #expect(activated == .activated(accountID: accountID))
            #expect(account.status == "active")
            #expect(account.passwordHash == "kept-hash")
            #expect(account.verified)
            let used = try #require(
                try await accounts.withTransaction { try await $0.lockVerificationToken(hash: kept.hash) })
            #expect(used.passwordHash == nil)
            #expect(used.usedAt != nil)
            let otherAfter = try await accounts.useVerificationToken(hash: other.hash, at: now)
            #expect(otherAfter == .unknown)  // retired with the activation

            let again = try await accounts.useVerificationToken(hash: kept.hash, at: now.addingTimeInterval(7200))
            #expect(again == .alreadyActive(accountID: accountID))  // even past the lifetime
            let unchanged = try #require(try await env.account("use@example.com"))
            #expect(unchanged.passwordHash == "kept-hash")
        }
    }

    @Test(
        "a link activates in one step when every live link carries its password, or the others expired",
        arguments: Backend.allCases)
    func singleRegistration(backend: Backend) async throws {
        try await withStore(backend) { env in
            let accounts = env.database.accounts
            let (resent, accountID) = try await accounts.withTransaction { transaction in
                let claim = try await transaction.claimAddress(newAccount("single@example.com"))
                let (_, originalRow) = token(for: claim.id, password: "same-hash")
                let (resent, resentRow) = token(for: claim.id, password: "same-hash")
                let (_, staleRow) = token(for: claim.id, password: "old-hash", expiresIn: -1)
                for row in [originalRow, resentRow, staleRow] { try await transaction.insertVerificationToken(row) }
                return (resent, claim.id)
            }
            #expect(
                try await accounts.withTransaction {
                    try await $0.hasRivalRegistration(accountID: accountID, passwordHash: "same-hash", at: Date())
                } == false)
            #expect(
                try await accounts.useVerificationToken(hash: resent.hash, at: Date())
                    == .activated(accountID: accountID))
            #expect(try await env.account("single@example.com")?.passwordHash == "same-hash")
        }
    }

    @Test(
        "concurrent uses of two links of one account activate it once", arguments: Backend.allCases)
    func concurrentVerificationTokenUses(backend: Backend) async throws {
        try await withStore(backend) { env in
            let accounts = env.database.accounts
            let (first, second, accountID) = try await accounts.withTransaction { transaction in
                let claim = try await transaction.claimAddress(newAccount("race@example.com"))
                let (first, firstRow) = token(for: claim.id, password: "first-hash")
                let (second, secondRow) = token(for: claim.id, password: "second-hash")
                try await transaction.insertVerificationToken(firstRow)
                try await transaction.insertVerificationToken(secondRow)
                return (first, second, claim.id)
            }
            async let a = accounts.useVerificationToken(hash: first.hash, at: Date(), passwordChecked: true)
            async let b = accounts.useVerificationToken(hash: second.hash, at: Date(), passwordChecked: true)
            let outcomes = try await [a, b]
            let activations = outcomes.filter { if case .activated = $0 { true } else { false } }
            #expect(activations.count == 1)
            let account = try #require(try await env.account("race@example.com"))
            #expect(account.status == "active")
            // The winner's password, and the loser saw the account active (or its link retired).
            let firstWon = outcomes[0] == .activated(accountID: accountID)
            #expect(account.passwordHash == (firstWon ? "first-hash" : "second-hash"))
            let loser = firstWon ? outcomes[1] : outcomes[0]
            #expect(loser == .alreadyActive(accountID: accountID) || loser == .unknown)
        }
    }

    @Test(
        "a token is found by its hash with its account's state, and activation retires the others",
        arguments: Backend.allCases)
    func verificationTokens(backend: Backend) async throws {
        try await withStore(backend) { env in
            let accounts = env.database.accounts
            let (kept, keptRow, other) = try await accounts.withTransaction { transaction in
                let claim = try await transaction.claimAddress(newAccount("tokens@example.com"))
                let (kept, keptRow) = token(for: claim.id, password: "kept-hash")
                let (other, otherRow) = token(for: claim.id, password: "other-hash")
                try await transaction.insertVerificationToken(keptRow)
                try await transaction.insertVerificationToken(otherRow)
                return (kept, keptRow, other)
            }
            let unknown = try await accounts.withTransaction {
                try await $0.lockVerificationToken(hash: OpaqueToken.generate().hash)
            }
            #expect(unknown == nil)
            let record = try #require(
                try await accounts.withTransaction { try await $0.lockVerificationToken(hash: kept.hash) })
            #expect(record.accountID == keptRow.accountID)
            #expect(record.accountStatus == .pending)
            #expect(record.passwordHash == "kept-hash")
            #expect(record.usedAt == nil)
            #expect(abs(record.expiresAt.timeIntervalSince(keptRow.expiresAt)) < 0.001)

            let now = Date()
            try await accounts.withTransaction {
                try await $0.activateAccount(
                    id: record.accountID, passwordHash: "kept-hash", usingToken: kept.hash, at: now)
            }
            let used = try #require(
                try await accounts.withTransaction { try await $0.lockVerificationToken(hash: kept.hash) })
            #expect(used.accountStatus == .active)
            #expect(used.passwordHash == nil)
            #expect(used.usedAt != nil)
            #expect(try await accounts.withTransaction { try await $0.lockVerificationToken(hash: other.hash) } == nil)
            let account = try #require(try await env.account("tokens@example.com"))
            #expect(account.status == "active")
            #expect(account.passwordHash == "kept-hash")
            #expect(account.verified)
        }
    }

    @Test(
        "the outbox hands out due emails once per lease, oldest first, and records outcomes",
        arguments: Backend.allCases)
    func outboxLifecycle(backend: Backend) async throws {
        try await withStore(backend) { env in
            let outbox = env.database.outbox
            let older = email("older@example.com", dueIn: -10)
            let newer = email("newer@example.com", dueIn: -5)
            let future = email("future@example.com", dueIn: 3600)
            try await env.database.accounts.withTransaction { transaction in
                for item in [newer, older, future] { try await transaction.enqueueEmail(item) }
            }
            let now = Date()
            let claimed = try await outbox.claimDueEmails(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60))
            #expect(claimed.map(\.email.recipient) == ["older@example.com", "newer@example.com"])
            #expect(claimed.map(\.attempt) == [1, 1])
            #expect(claimed.first?.email.textBody == "text with token=secret")
            #expect(claimed.first?.email.requestID == "request-1")
            #expect(
                try await outbox.claimDueEmails(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60)).isEmpty)

            try await outbox.markSent(id: older.id, at: now)
            try await outbox.scheduleRetry(id: newer.id, at: now, error: "provider said no")
            let retried = try await outbox.claimDueEmails(now: now, limit: 10, leaseUntil: now.addingTimeInterval(60))
            #expect(retried.map(\.email.id) == [newer.id])
            #expect(retried.first?.attempt == 2)
            try await outbox.markFailed(id: newer.id, at: now, error: "gave up")

            #expect(
                try await env.count(
                    "SELECT count(*) FROM email_outbox WHERE status = 'sent' AND text_body IS NULL AND html_body IS NULL"
                ) == 1)
            #expect(
                try await env.count(
                    "SELECT count(*) FROM email_outbox WHERE status = 'failed' AND last_error = 'gave up' AND text_body IS NULL"
                ) == 1)
            #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'pending'") == 1)
        }
    }

    @Test(
        "only the claim that holds an email renews its lease, and never after the outcome is recorded",
        arguments: Backend.allCases)
    func renewClaims(backend: Backend) async throws {
        try await withStore(backend) { env in
            let outbox = env.database.outbox
            let held = email("held@example.com")
            let other = email("other@example.com")
            try await env.database.accounts.withTransaction { transaction in
                for item in [held, other] { try await transaction.enqueueEmail(item) }
            }
            let now = Date()
            let mine = UUID()
            let claimed = try await outbox.claimDueEmails(
                now: now, limit: 1, leaseUntil: now.addingTimeInterval(5), claimToken: mine)
            #expect(claimed.map(\.email.id) == [held.id])
            // Another worker's claim token, or an id this claim does not hold, renews nothing.
            #expect(
                try await outbox.renewClaims(
                    ids: [held.id], claimToken: UUID(), leaseUntil: now.addingTimeInterval(600))
                    == 0)
            #expect(
                try await outbox.renewClaims(ids: [other.id], claimToken: mine, leaseUntil: now.addingTimeInterval(600))
                    == 0)
            #expect(
                try await outbox.renewClaims(
                    ids: [held.id, other.id], claimToken: mine, leaseUntil: now.addingTimeInterval(600)) == 1)
            // Renewed: not due even well after the original lease would have run out.
            #expect(
                try await outbox.claimDueEmails(now: now.addingTimeInterval(60), limit: 10, leaseUntil: now)
                    .map(\.email.id) == [other.id])
            try await outbox.scheduleRetry(id: held.id, at: now, error: "provider said no")
            #expect(
                try await outbox.renewClaims(ids: [held.id], claimToken: mine, leaseUntil: now.addingTimeInterval(600))
                    == 0)
            #expect(
                try await outbox.claimDueEmails(now: now, limit: 10, leaseUntil: now).map(\.email.id).contains(held.id))
        }
    }

    @Test("a released claim is due again at once and its attempt is not counted", arguments: Backend.allCases)
    func releaseClaim(backend: Backend) async throws {
        try await withStore(backend) { env in
            let outbox = env.database.outbox
            let item = email("released@example.com")
            try await env.database.accounts.withTransaction { try await $0.enqueueEmail(item) }
            let now = Date()
            _ = try await outbox.claimDueEmails(now: now, limit: 1, leaseUntil: now.addingTimeInterval(600))
            try await outbox.releaseClaim(id: item.id, now: now)
            let again = try await outbox.claimDueEmails(now: now, limit: 1, leaseUntil: now.addingTimeInterval(600))
            #expect(again.map(\.attempt) == [1])
        }
    }
}

@Suite("Rate-limit counters")
struct RateLimitStoreTests {
    @Test(
        "hits count per window, a new window restarts at one, and old windows are purged", arguments: Backend.allCases)
    func counters(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.database.migrate(logger: env.logger)
            let store = env.database.rateLimits
            let first = Date(timeIntervalSince1970: 1_800_000_000)
            let second = first.addingTimeInterval(900)
            #expect(try await store.hit(bucket: "b", windowStart: first) == 1)
            #expect(try await store.hit(bucket: "b", windowStart: first) == 2)
            #expect(try await store.hits(bucket: "b", windowStart: first) == 2)
            #expect(try await store.hits(bucket: "other", windowStart: first) == 0)
            #expect(try await store.hit(bucket: "b", windowStart: second) == 1)
            #expect(try await store.hits(bucket: "b", windowStart: first) == 0)
            _ = try await store.hit(bucket: "old", windowStart: first)
            #expect(try await store.purge(before: second, limit: 1000) == 1)
            #expect(try await env.count("SELECT count(*) FROM rate_limit_counters") == 1)
        }
    }

    @Test(
        "unhit takes back one hit of the current window only, never below zero; clear forgets a prefix and its sub-buckets only",
        arguments: Backend.allCases)
    func unhitAndClear(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.database.migrate(logger: env.logger)
            let store = env.database.rateLimits
            let first = Date(timeIntervalSince1970: 1_800_000_000)
            let second = first.addingTimeInterval(900)
            _ = try await store.hit(bucket: "b", windowStart: first)
            _ = try await store.hit(bucket: "b", windowStart: first)
            try await store.unhit(bucket: "b", windowStart: first)
            #expect(try await store.hits(bucket: "b", windowStart: first) == 1)
            try await store.unhit(bucket: "b", windowStart: second)  // the window moved on: nothing
            #expect(try await store.hits(bucket: "b", windowStart: first) == 1)
            try await store.unhit(bucket: "b", windowStart: first)
            try await store.unhit(bucket: "b", windowStart: first)
            #expect(try await store.hits(bucket: "b", windowStart: first) == 0)

            for bucket in ["login-failure:ab", "login-failure:ab:10.0.0.1", "login-failure:abc", "login-failure:a_"] {
                _ = try await store.hit(bucket: bucket, windowStart: first)
            }
            try await store.clear(prefix: "login-failure:ab")
            #expect(try await store.hits(bucket: "login-failure:ab", windowStart: first) == 0)
            #expect(try await store.hits(bucket: "login-failure:ab:10.0.0.1", windowStart: first) == 0)
            #expect(try await store.hits(bucket: "login-failure:abc", windowStart: first) == 1)
            try await store.clear(prefix: "login-failure:a%")  // wildcards are literal
            #expect(try await store.hits(bucket: "login-failure:a_", windowStart: first) == 1)
            #expect(try await store.hits(bucket: "login-failure:abc", windowStart: first) == 1)
        }
    }
}
