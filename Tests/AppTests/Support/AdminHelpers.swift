import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import App

extension TestEnvironment {
    /// Activates an account with `email`, makes it an admin from the command line, and returns
    /// an access token that carries the role.
    func admin(_ client: some TestClientProtocol, email: String = "boss@example.com") async throws -> String {
        let password = "the admin's passphrase"
        try await activate(client, email: email, password: password)
        #expect(try await grantRole(.admin, to: EmailAddress(email)!, configuration: configuration, logger: logger))
        return try tokenPair(try await client.login(email: email, password: password)).access
    }

    /// The id of the account with `email`, as `/v1/me` tells its owner.
    func accountID(_ client: some TestClientProtocol, access: String) async throws -> String {
        try #require(try await client.get("/v1/me", bearer: access).json["id"] as? String)
    }
}

extension TestClientProtocol {
    /// A request with a bearer token and no body.
    func send(
        _ uri: String, method: HTTPRequest.Method, bearer: String?, headers: HTTPFields = [:]
    ) async throws
        -> TestResponse
    {
        var headers = headers
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: method, headers: headers)
    }

    /// The audit trail of one account (or of all), newest first, as the admin API pages it.
    func auditEvents(admin: String, accountID: String? = nil) async throws -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor: String?
        repeat {
            var query = ["limit=3"]
            if let accountID { query.append("account_id=\(accountID)") }
            if let cursor { query.append("cursor=\(cursor)") }
            let page = try await get("/v1/admin/audit?\(query.joined(separator: "&"))", bearer: admin)
            #expect(page.status == .ok)
            events += try #require(page.json["events"] as? [[String: Any]])
            cursor = page.json["next_cursor"] as? String
        } while cursor != nil
        return events
    }
}
