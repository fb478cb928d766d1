import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Housekeeping")
struct HousekeepingTests {
    /// A whole second, so both dialects store it exactly.
    private let due = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 86400).rounded())
    private let week: TimeInterval = 7 * 86400

    private func housekeeping(
        _ env: TestEnvironment, unverifiedAccountRetention: Duration = .seconds(7 * 86400)
    ) -> Housekeeping {
        Housekeeping(
            rateLimits: env.database.rateLimits, accounts: env.database.accounts, window: .seconds(900),
            settings: HousekeepingSettings(unverifiedAccountRetention: unverifiedAccountRetention),
            metrics: nil, gate: StartupGate(open: true), logger: env.logger)
    }

    /// Sets `column` of the rows of `table` matching `condition` to `date`.
    private func set(
        _ env: TestEnvironment, _ table: String, _ column: String, to date: Date, where condition: String
    ) async throws {
        let seconds = date.timeIntervalSince1970
        try await env.execute(
            postgres: "UPDATE \(table) SET \(column) = to_timestamp(\(seconds)) WHERE \(condition)",
            sqlite: "UPDATE \(table) SET \(column) = \(seconds) WHERE \(condition)")
    }

    private func user(_ email: String) -> String {
        "user_id = (SELECT id FROM users WHERE email_normalized = '\(email)')"
    }

    @Test(
        "ended sessions go at the next pass, live ones and address-change links when they expire, not before",
        arguments: Backend.allCases)
    func sessionsAndChangeLinks(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let password = "a long enough passphrase"
                try await env.activate(client, email: "kept@example.com", password: password)
                let ended = try tokenPair(try await client.login(email: "kept@example.com", password: password))
                let live = try tokenPair(try await client.login(email: "kept@example.com", password: password))
                #expect(
                    try await client.postJSON("/v1/logout", object: ["refresh_token": ended.refresh]).status
                        == .noContent)
                let change = try await client.sendJSON(
                    "/v1/me/email", method: .post, bearer: live.access,
                    object: ["new_email": "moved@example.com", "password": password])
                #expect(change.status == .accepted)
                #expect(try await env.count("SELECT count(*) FROM sessions") == 2)
                #expect(try await env.count("SELECT count(*) FROM email_change_tokens") == 1)
                try await set(env, "sessions", "expires_at", to: due, where: "ended_at IS NULL")
                try await set(env, "email_change_tokens", "expires_at", to: due, where: "1 = 1")
                let housekeeping = housekeeping(env)

                let early = try #require(await housekeeping.sweep(now: due))
                #expect(early["sessions"] == 1)
                #expect(early["email_change_tokens"] == 0)
                #expect(try await env.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL") == 1)

                let late = try #require(await housekeeping.sweep(now: due.addingTimeInterval(1)))
                #expect(late["sessions"] == 1)
                #expect(late["email_change_tokens"] == 1)
                #expect(try await env.count("SELECT count(*) FROM sessions") == 0)
                #expect(try await env.count("SELECT count(*) FROM email_change_tokens") == 0)
            }
        }
    }

    @Test("tokens and finished emails are deleted exactly when due, not a second before", arguments: Backend.allCases)
    func tokensAndEmails(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: "kept@example.com", password: "a long enough passphrase")
                #expect(
                    try await client.login(email: "kept@example.com", password: "a long enough passphrase").status
                        == .ok)
                _ = try await client.postJSON("/v1/password/forgot", object: ["email": "kept@example.com"])
                try await env.deliverEmails()
                #expect(try await env.count("SELECT count(*) FROM password_reset_tokens") == 1)
                #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE status = 'sent'") == 2)

                // Each kind becomes due at `due`: expiry for tokens, sent + OUTBOX_RETENTION for emails.
                try await set(env, "verification_tokens", "expires_at", to: due, where: user("kept@example.com"))
                try await set(env, "password_reset_tokens", "expires_at", to: due, where: "1 = 1")
                try await set(env, "refresh_tokens", "expires_at", to: due, where: "1 = 1")
                try await set(
                    env, "email_outbox", "sent_at", to: due.addingTimeInterval(-week), where: "status = 'sent'")
                let housekeeping = housekeeping(env)

                let early = try #require(await housekeeping.sweep(now: due))
                for kind in ["verification_links", "reset_tokens", "refresh_tokens", "emails"] {
                    #expect(early[kind] == 0, "\(kind) deleted before it was due")
                }
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                #expect(try await env.count("SELECT count(*) FROM password_reset_tokens") == 1)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens") == 1)
                #expect(try await env.count("SELECT count(*) FROM email_outbox") == 2)

                let late = try #require(await housekeeping.sweep(now: due.addingTimeInterval(1)))
                #expect(late["verification_links"] == 1)
                #expect(late["reset_tokens"] == 1)
                #expect(late["refresh_tokens"] == 1)
                #expect(late["emails"] == 2)
                for table in ["verification_tokens", "password_reset_tokens", "refresh_tokens", "email_outbox"] {
                    #expect(try await env.count("SELECT count(*) FROM \(table)") == 0, "\(table) kept rows")
                }
                // The account itself is untouched and still logs in.
                #expect(try await env.account("kept@example.com")?.status == "active")
                #expect(
                    try await client.login(email: "kept@example.com", password: "a long enough passphrase").status
                        == .ok)
            }
        }
    }

    @Test(
        "a never-verified account goes when its last link expired UNVERIFIED_ACCOUNT_RETENTION ago, freeing its address; one with a live link never",
        arguments: Backend.allCases)
    func unverifiedAccounts(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                for email in ["stale@example.com", "live@example.com"] {
                    #expect(try await client.register(email: email, password: "some passphrase").status == .accepted)
                }
                // A second registration of the stale address: its last link is the one that counts.
                #expect(
                    try await client.register(email: "stale@example.com", password: "other passphrase").status
                        == .accepted)
                try await env.deliverEmails()
                let lastExpiry = due.addingTimeInterval(-week)
                try await set(env, "users", "created_at", to: lastExpiry.addingTimeInterval(-7200), where: "1 = 1")
                try await set(
                    env, "verification_tokens", "expires_at", to: lastExpiry.addingTimeInterval(-60),
                    where: user("stale@example.com"))
                try await env.execute(
                    postgres: """
                        UPDATE verification_tokens SET expires_at = to_timestamp(\(lastExpiry.timeIntervalSince1970))
                        WHERE token_hash = (SELECT token_hash FROM verification_tokens
                            WHERE \(user("stale@example.com")) ORDER BY created_at DESC LIMIT 1)
                        """,
                    sqlite: """
                        UPDATE verification_tokens SET expires_at = \(lastExpiry.timeIntervalSince1970)
                        WHERE token_hash = (SELECT token_hash FROM verification_tokens
                            WHERE \(user("stale@example.com")) ORDER BY created_at DESC LIMIT 1)
                        """)
                try await set(
                    env, "verification_tokens", "expires_at", to: due.addingTimeInterval(3600),
                    where: user("live@example.com"))
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 3)

                // Switched off, nothing goes however late it is.
                let off = housekeeping(env, unverifiedAccountRetention: .zero)
                #expect(try #require(await off.sweep(now: due.addingTimeInterval(1)))["unverified_accounts"] == nil)
                #expect(try await env.count("SELECT count(*) FROM users") == 2)
                try await env.execute("DELETE FROM housekeeping_leases")  // another instance's turn

                let housekeeping = housekeeping(env)
                #expect(try #require(await housekeeping.sweep(now: due))["unverified_accounts"] == 0)
                #expect(try await env.count("SELECT count(*) FROM users") == 2)
                #expect(
                    try #require(await housekeeping.sweep(now: due.addingTimeInterval(1)))["unverified_accounts"] == 1)
                #expect(try await env.account("stale@example.com") == nil)
                #expect(try await env.account("live@example.com")?.status == "pending")
                #expect(try await env.count("SELECT count(*) FROM verification_tokens") == 1)
                // A pending account's own expired links are not purged as links: they go with it.
                #expect(
                    try await env.count("SELECT count(*) FROM verification_tokens WHERE \(user("live@example.com"))")
                        == 1)

                // The address is free: registering it again starts a new pending account.
                #expect(
                    try await client.register(email: "stale@example.com", password: "new passphrase").status
                        == .accepted)
                #expect(try await env.account("stale@example.com")?.status == "pending")
            }
        }
    }

    /// `count` rate-limit counters named `prefix1`, `prefix2`, … in the window starting at `windowStart`.
    private func insertCounters(
        _ env: TestEnvironment, named prefix: String, count: Int, windowStart: TimeInterval
    )
        async throws
    {
        try await env.execute(
            postgres: """
                INSERT INTO rate_limit_counters (bucket, window_start, hits)
                SELECT '\(prefix)' || n, to_timestamp(\(windowStart)), 1 FROM generate_series(1, \(count)) AS n
                """,
            sqlite: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
                INSERT INTO rate_limit_counters (bucket, window_start, hits) SELECT '\(prefix)' || i, \(windowStart), 1 FROM n
                """)
    }

    @Test(
        "passes of two instances: one holds the lease and the other skips; overlapping passes delete each row once and neither fails",
        arguments: Backend.allCases)
    func twoInstances(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.database.migrate(logger: env.logger)
            let rows = 2500
            let old = due.addingTimeInterval(-86400).timeIntervalSince1970
            try await insertCounters(env, named: "b", count: rows, windowStart: old)
            let first = housekeeping(env)
            let second = housekeeping(env)
            async let a = first.sweep(now: due)
            async let b = second.sweep(now: due)
            let (one, other) = await (a, b)
            #expect((one == nil) != (other == nil), "exactly one instance does the pass")
            #expect((one ?? other)?["rate_limit_windows"] == rows)
            #expect(try await env.count("SELECT count(*) FROM rate_limit_counters") == 0)

            // Deletes that overlap (two instances whose passes meet, a pass that outlives its
            // lease): each row goes once, and neither fails.
            try await insertCounters(env, named: "c", count: rows, windowStart: old)
            let store = env.database.rateLimits
            let cutoff = due
            @Sendable func drain() async throws -> Int {
                var total = 0
                while true {
                    let deleted = try await store.purge(before: cutoff, limit: Housekeeping.batchSize)
                    total += deleted
                    if deleted < Housekeeping.batchSize { return total }
                }
            }
            async let c = drain()
            async let d = drain()
            let (third, fourth) = try await (c, d)
            #expect(third + fourth == rows)
            #expect(try await env.count("SELECT count(*) FROM rate_limit_counters") == 0)
        }
    }
}
