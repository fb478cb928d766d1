import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Audit trail")
struct AuditTrailTests {
    private let email = "audited@example.com"
    private let password = "a carefully logged passphrase"

    @Test(
        "the account's life is recorded with actor, request id and agent, newest first, and never a secret or the address",
        arguments: Backend.allCases)
    func records(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp(.live) { client in
                let admin = try await env.admin(client)
                let registered = try await client.execute(
                    uri: "/v1/register", method: .post,
                    headers: [
                        .contentType: "application/json", .userAgent: "Audit Agent/1.0",
                        RequestIDMiddleware.headerName: "req-audit-1",
                    ],
                    body: ByteBuffer(string: #"{"email":"\#(email)","password":"\#(password)"}"#))
                #expect(registered.status == .accepted)
                try await env.deliverEmails()
                let mail = try #require(env.transport.sent(to: email).last)
                let link = try #require(verificationToken(in: mail.textBody))
                #expect(try await client.verify(token: link).status == .ok)
                #expect(try await client.login(email: email, password: "a wrong guess here").status == .unauthorized)
                #expect(try await client.login(email: "nobody@example.com", password: password).status == .unauthorized)
                let session = try tokenPair(try await client.login(email: email, password: password))
                let id = try await env.accountID(client, access: session.access)
                let renewed = try tokenPair(
                    try await client.postJSON("/v1/token/refresh", object: ["refresh_token": session.refresh]))
                // The rotated token again: reuse, the family is revoked.
                _ = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": session.refresh])
                let changed = try await client.sendJSON(
                    "/v1/me/password", method: .post, bearer: renewed.access,
                    object: ["current_password": password, "new_password": "the next careful passphrase"])
                #expect(changed.status == .ok)

                let events = try await client.auditEvents(admin: admin, accountID: id)
                #expect(
                    events.compactMap { $0["event"] as? String } == [
                        "user.password_changed", "auth.refresh_reuse", "user.login", "user.login_failed",
                        "user.verified", "user.registered",
                    ])
                let ids = events.compactMap { $0["id"] as? Int }
                #expect(ids == ids.sorted(by: >))
                let first = try #require(events.last)
                #expect(first["request_id"] as? String == "req-audit-1")
                #expect(first["user_agent"] as? String == "Audit Agent/1.0")
                #expect(first["client_ip"] as? String == "127.0.0.1")
                #expect(first["actor"] as? String == "self")
                #expect(events[1]["actor"] as? String == "system")
                #expect((events[3]["detail"] as? [String: String])?["reason"] == "wrong_password")

                let all = try await client.auditEvents(admin: admin)
                let unknown = all.filter {
                    ($0["event"] as? String) == "user.login_failed" && $0["account_id"] is NSNull
                }
                #expect((unknown.first?["detail"] as? [String: String])?["reason"] == "unknown_email")
                #expect(
                    all.contains {
                        ($0["event"] as? String) == "user.role_changed" && ($0["actor"] as? String) == "operator"
                    })

                let trail = try await client.get("/v1/admin/audit?limit=100", bearer: admin).text
                for secret in [
                    email, "nobody@example.com", password, "the next careful passphrase", link, session.refresh,
                    renewed.refresh, session.access,
                ] {
                    #expect(!trail.contains(secret))
                }
                #expect(!trail.contains("$2"))
            }
        }
    }

    @Test(
        "audit rows cannot be changed, and retention removes old ones with old tombstones", arguments: Backend.allCases)
    func appendOnlyAndRetention(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let access = try tokenPair(try await client.login(email: email, password: password)).access
                #expect(
                    try await client.sendJSON("/v1/me", method: .delete, bearer: access, object: ["password": password])
                        .status == .noContent)
                let rows = try await env.count("SELECT count(*) FROM audit_events")
                #expect(rows >= 3)
                await #expect(throws: (any Error).self) {
                    try await env.execute("UPDATE audit_events SET actor = 'someone else'")
                }

                let housekeeping = Housekeeping(
                    rateLimits: env.database.rateLimits, accounts: env.database.accounts, window: .seconds(900),
                    settings: HousekeepingSettings(auditRetention: .seconds(30 * 86400)), metrics: nil,
                    gate: StartupGate(open: true), logger: env.logger)
                let soon = try #require(await housekeeping.sweep(now: Date().addingTimeInterval(29 * 86400)))
                #expect(soon["audit_events"] == 0)
                #expect(soon["tombstones"] == 0)
                let later = try #require(await housekeeping.sweep(now: Date().addingTimeInterval(31 * 86400)))
                #expect(later["audit_events"] == rows)
                #expect(later["tombstones"] == 1)
                #expect(try await env.count("SELECT count(*) FROM audit_events") == 0)
            }
        }
    }
}
