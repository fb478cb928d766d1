import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("Refresh-token rotation in one statement (PostgreSQL)")
struct RefreshRotationTests {
    private static let email = "rotor@example.com"
    private static let password = "a good passphrase"

    @Test("it rotates only when every condition holds; otherwise it returns nothing and changes nothing")
    func atOnce() async throws {
        try await TestEnvironment.with(.postgres) { env in
            try await env.withApp { client in
                try await env.activate(client, email: Self.email, password: Self.password)
                let login = try await client.login(email: Self.email, password: Self.password)
                let token = try #require(login.json["refresh_token"] as? String)
                let presented = try #require(OpaqueToken(parsing: token)).hash
                let store = env.database.accounts
                func rotation(
                    now: Date = Date(), maxAge: Duration = .seconds(3600), limit: (Int, Duration)? = nil
                ) -> RefreshRotation {
                    RefreshRotation(
                        presentedHash: presented, successorHash: OpaqueToken.generate().hash, now: now,
                        successorExpiry: now.addingTimeInterval(7200), familyMaxAge: maxAge, familyLimit: limit)
                }
                func untouched() async throws -> Bool {
                    let tokens = try await env.count("SELECT count(*) FROM refresh_tokens")
                    let live = try await env.count("SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NULL")
                    let idle = try await env.count("SELECT count(*) FROM sessions WHERE last_used_at = created_at")
                    return tokens == 1 && live == 1 && idle == 1
                }

                // The family's one token is at the limit of zero more.
                #expect(
                    try await store.rotateRefreshTokenAtOnce(rotation(limit: (0, .seconds(60))))
                        == nil)
                // The family's maximum age has passed.
                #expect(try await store.rotateRefreshTokenAtOnce(rotation(maxAge: .zero)) == nil)
                // The token's own lifetime (30 days) has passed, the family's has not.
                let later = Date(timeIntervalSinceNow: 31 * 86_400)
                #expect(
                    try await store.rotateRefreshTokenAtOnce(rotation(now: later, maxAge: .seconds(86_400 * 90))) == nil
                )
                // The account is disabled, then in another session epoch, then revoked.
                for (breakIt, mendIt) in [
                    ("UPDATE users SET disabled_at = now()", "UPDATE users SET disabled_at = NULL"),
                    (
                        "UPDATE users SET session_epoch = session_epoch + 1",
                        "UPDATE users SET session_epoch = session_epoch - 1"
                    ),
                    ("UPDATE refresh_tokens SET revoked_at = now()", "UPDATE refresh_tokens SET revoked_at = NULL"),
                ] {
                    try await env.execute(breakIt)
                    #expect(try await store.rotateRefreshTokenAtOnce(rotation()) == nil, "\(breakIt)")
                    try await env.execute(mendIt)
                }
                #expect(try await untouched())

                // Everything holds: rotated, with the successor capped at the family's end.
                let rotated = try #require(
                    try await store.rotateRefreshTokenAtOnce(rotation(limit: (2, .seconds(86_400 * 365)))))
                #expect(rotated.account.email == Self.email)
                #expect(
                    try await env.count("SELECT count(*) FROM refresh_tokens WHERE family_id = '\(rotated.session)'")
                        == 2)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL") == 1)
                #expect(
                    try await env.count(
                        """
                        SELECT count(*) FROM refresh_tokens t JOIN sessions s ON s.id = t.family_id
                        WHERE t.rotated_at IS NULL AND t.expires_at = t.family_created_at + interval '3600 seconds'
                          AND s.expires_at = t.expires_at AND s.last_used_at = t.created_at
                        """) == 1)
                // The rotated token again: nothing (the steps then find the reuse).
                #expect(try await store.rotateRefreshTokenAtOnce(rotation()) == nil)
                #expect(try await env.count("SELECT count(*) FROM refresh_tokens") == 2)
            }
        }
    }
}
