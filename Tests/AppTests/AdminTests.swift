import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

@Suite("Admin controls: disable, enable, delete, search")
struct AdminTests {
    private let email = "member@example.com"
    private let password = "a quiet harbour at dawn"

    /// An admin's access token, and the member's session and account id.
    private func adminAndMember(
        _ env: TestEnvironment, _ client: some TestClientProtocol
    ) async throws -> (admin: String, session: (access: String, refresh: String), id: String) {
        let admin = try await env.admin(client)
        try await env.activate(client, email: email, password: password)
        let session = try tokenPair(try await client.login(email: email, password: password))
        return (admin, session, try await env.accountID(client, access: session.access))
    }

    @Test(
        "a disabled account cannot log in or refresh, says so only to whoever knows the password, and enable restores it",
        arguments: Backend.allCases)
    func disableAndEnable(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (admin, session, id) = try await adminAndMember(env, client)

                let disabled = try await client.send("/v1/admin/users/\(id)/disable", method: .post, bearer: admin)
                #expect(disabled.status == .ok)
                #expect(disabled.json["status"] as? String == "disabled")
                #expect(disabled.json["disabled_at"] is String)

                let refreshed = try await client.postJSON(
                    "/v1/token/refresh", object: ["refresh_token": session.refresh])
                #expect(refreshed.status == .unauthorized)
                let right = try await client.login(email: email, password: password)
                #expect(right.status == .forbidden)
                #expect(right.json["code"] as? String == "account_disabled")
                let wrong = try await client.login(email: email, password: "not the passphrase")
                #expect(wrong.status == .unauthorized)
                #expect(wrong.json["code"] as? String == "invalid_credentials")
                // Self-service needs a usable account.
                let change = try await client.sendJSON(
                    "/v1/me/password", method: .post, bearer: session.access,
                    object: ["current_password": password, "new_password": "another long passphrase"])
                #expect(change.status == .unauthorized)
                // No reset link for a disabled account (the answer is the usual 202).
                #expect(try await client.postJSON("/v1/password/forgot", object: ["email": email]).status == .accepted)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: email).allSatisfy { !$0.subject.contains("Reset") })

                let listed = try await client.get("/v1/admin/users?status=disabled", bearer: admin).json
                #expect((listed["users"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == [email])
                #expect(listed["total"] as? Int == 1)
                let active = try await client.get("/v1/admin/users?status=active", bearer: admin).json
                #expect(
                    (active["users"] as? [[String: Any]])?.compactMap { $0["email"] as? String } == ["boss@example.com"]
                )

                let enabled = try await client.send("/v1/admin/users/\(id)/enable", method: .post, bearer: admin)
                #expect(enabled.status == .ok)
                #expect(enabled.json["status"] as? String == "active")
                #expect(enabled.json["disabled_at"] is NSNull)
                #expect(try await client.login(email: email, password: password).status == .ok)
                // The sessions ended at the disable stay ended.
                let stale = try await client.postJSON("/v1/token/refresh", object: ["refresh_token": session.refresh])
                #expect(stale.status == .unauthorized)

                let events = try await client.auditEvents(admin: admin, accountID: id).compactMap {
                    $0["event"] as? String
                }
                #expect(events.prefix(2) == ["user.login", "user.enabled"])
                #expect(events.contains("user.disabled"))
                let adminID = try await env.accountID(client, access: admin)
                let actors = try await client.auditEvents(admin: admin, accountID: id)
                    .filter { ($0["event"] as? String) == "user.disabled" }.compactMap { $0["actor"] as? String }
                #expect(actors == ["admin:\(adminID)"])
            }
        }
    }

    @Test(
        "DELETE /v1/admin/users/{id} removes the account, keeps a tombstone without the address, and tells the address",
        arguments: Backend.allCases)
    func delete(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let (admin, session, id) = try await adminAndMember(env, client)

                let deleted = try await client.send("/v1/admin/users/\(id)", method: .delete, bearer: admin)
                #expect(deleted.status == .noContent)
                #expect(try await env.account(email) == nil)
                #expect(try await env.count("SELECT count(*) FROM account_tombstones") == 1)
                #expect(
                    try await env.count("SELECT count(*) FROM account_tombstones WHERE deleted_by LIKE 'admin:%'") == 1)
                #expect(try await client.get("/v1/me", bearer: session.access).status == .unauthorized)
                try await env.deliverEmails()
                #expect(env.transport.sent(to: email).last?.subject == "Your account was deleted")
                #expect(env.transport.sent(to: email).last?.textBody.contains("administrator") == true)

                let again = try await client.send("/v1/admin/users/\(id)", method: .delete, bearer: admin)
                #expect(again.status == .notFound)
                #expect(
                    try await client.register(email: email, password: "a fresh start passphrase").status == .accepted)

                let events = try await client.auditEvents(admin: admin, accountID: id)
                #expect(events.first?["event"] as? String == "user.deleted")
                let trail = try await client.get("/v1/admin/audit?account_id=\(id)", bearer: admin).text
                #expect(!trail.contains(email))
            }
        }
    }

    @Test("admins cannot act on themselves; unknown ids 404, malformed ids 422, users 403", arguments: Backend.allCases)
    func refusals(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let admin = try await env.admin(client)
                let adminID = try await env.accountID(client, access: admin)
                for (path, method) in [
                    ("/v1/admin/users/\(adminID)/disable", HTTPRequest.Method.post),
                    ("/v1/admin/users/\(adminID)", .delete),
                ] {
                    let response = try await client.send(path, method: method, bearer: admin)
                    #expect(response.status == .conflict)
                    #expect(response.json["code"] as? String == "own_account")
                }
                let unknown = UUID().uuidString.lowercased()
                #expect(
                    try await client.send("/v1/admin/users/\(unknown)/disable", method: .post, bearer: admin).status
                        == .notFound)
                #expect(
                    try await client.send("/v1/admin/users/\(unknown)/enable", method: .post, bearer: admin).status
                        == .notFound)
                #expect(
                    try await client.send("/v1/admin/users/\(unknown)", method: .delete, bearer: admin).status
                        == .notFound)
                let malformed = try await client.send(
                    "/v1/admin/users/not-a-uuid/disable", method: .post, bearer: admin)
                #expect(malformed.status == .unprocessableContent)
                #expect(malformed.violations == ["id:format"])

                try await env.activate(client, email: email, password: password)
                let user = try tokenPair(try await client.login(email: email, password: password)).access
                #expect(
                    try await client.send("/v1/admin/users/\(adminID)/disable", method: .post, bearer: user).status
                        == .forbidden)
                #expect(try await client.get("/v1/admin/audit", bearer: user).status == .forbidden)
                #expect(
                    try await client.login(email: "boss@example.com", password: "the admin's passphrase").status == .ok)
            }
        }
    }

    @Test(
        "the account list pages by cursor without repeats or gaps while accounts are added, and searches by prefix",
        arguments: Backend.allCases)
    func pagination(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                let admin = try await env.admin(client)
                for index in 1...5 {
                    _ = try await client.register(email: "ann\(index)@example.com", password: "some passphrase")
                }
                var seen: [String] = []
                var cursor: String?
                var added = 0
                repeat {
                    let query = cursor.map { "&cursor=\($0)" } ?? ""
                    let page = try await client.get("/v1/admin/users?limit=2\(query)", bearer: admin)
                    #expect(page.status == .ok)
                    seen += (page.json["users"] as? [[String: Any]] ?? []).compactMap { $0["email"] as? String }
                    cursor = page.json["next_cursor"] as? String
                    if added < 2 {
                        added += 1
                        _ = try await client.register(email: "late\(added)@example.com", password: "some passphrase")
                    }
                } while cursor != nil
                #expect(seen.count == Set(seen).count)
                #expect(
                    seen == ["boss@example.com"] + (1...5).map { "ann\($0)@example.com" } + [
                        "late1@example.com", "late2@example.com",
                    ])

                let found = try await client.get(
                    "/v1/admin/users?email_prefix=ANN&status=pending&limit=3", bearer: admin
                ).json
                #expect((found["users"] as? [Any])?.count == 3)
                #expect(found["total"] as? Int == 5)
                let literal = try await client.get("/v1/admin/users?email_prefix=a_n", bearer: admin).json
                #expect(literal["total"] as? Int == 0)

                let bad = try await client.get("/v1/admin/users?cursor=bm9wZQ&status=gone", bearer: admin)
                #expect(bad.status == .unprocessableContent)
                #expect(Set(bad.violations) == ["cursor:format", "status:one_of"])
                let badAudit = try await client.get("/v1/admin/audit?cursor=xyz&account_id=1", bearer: admin)
                #expect(Set(badAudit.violations) == ["cursor:format", "account_id:format"])
            }
        }
    }

    @Test("operators disable, enable and delete from the command line", arguments: Backend.allCases)
    func commandLine(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            try await env.withApp { client in
                try await env.activate(client, email: email, password: password)
                let address = EmailAddress(email)!
                #expect(
                    try await administer(.disable, email: address, configuration: env.configuration, logger: env.logger)
                )
                #expect(try await client.login(email: email, password: password).status == .forbidden)
                #expect(
                    try await administer(.enable, email: address, configuration: env.configuration, logger: env.logger))
                #expect(try await client.login(email: email, password: password).status == .ok)
                #expect(
                    try await administer(.delete, email: address, configuration: env.configuration, logger: env.logger))
                #expect(try await env.account(email) == nil)
                #expect(
                    try await env.count("SELECT count(*) FROM account_tombstones WHERE deleted_by = 'operator'") == 1)
                let nobody = EmailAddress("nobody@example.com")!
                #expect(
                    try await !administer(.disable, email: nobody, configuration: env.configuration, logger: env.logger)
                )
            }
        }
    }
}
