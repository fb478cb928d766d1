import Foundation
import Hummingbird

/// `GET /v1/me` (any signed-in account) and `GET /v1/admin/users` (admins only).
struct AccountController {
    let store: any AccountStore
    let tokens: AccessTokens

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.group("me")
            .add(middleware: AuthenticationMiddleware(tokens: tokens, requiredRole: nil))
            .get(use: me)
        routes.group("admin")
            .add(middleware: AuthenticationMiddleware(tokens: tokens, requiredRole: .admin))
            .get("users", use: users)
        return routes
    }

    struct AccountView: ResponseEncodable {
        let id: String
        let email: String
        let status: String
        let roles: [String]
        let createdAt: Date
        let verifiedAt: Date?

        init(_ account: AccountRecord) {
            self.id = account.id.uuidString.lowercased()
            self.email = account.email
            self.status = account.status.rawValue
            self.roles = account.role.granted.map(\.rawValue)
            self.createdAt = account.createdAt
            self.verifiedAt = account.verifiedAt
        }

        enum CodingKeys: String, CodingKey {
            case id, email, status, roles
            case createdAt = "created_at"
            case verifiedAt = "verified_at"
        }

        /// `verified_at` is `null` for a pending account, not missing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(email, forKey: .email)
            try container.encode(status, forKey: .status)
            try container.encode(roles, forKey: .roles)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(verifiedAt, forKey: .verifiedAt)
        }
    }

    struct AccountPage: ResponseEncodable {
        let users: [AccountView]
        let total: Int
        let limit: Int
        let offset: Int
        let nextOffset: Int?

        enum CodingKeys: String, CodingKey {
            case users, total, limit, offset
            case nextOffset = "next_offset"
        }

        /// `next_offset` is `null` on the last page, not missing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(users, forKey: .users)
            try container.encode(total, forKey: .total)
            try container.encode(limit, forKey: .limit)
            try container.encode(offset, forKey: .offset)
            try container.encode(nextOffset, forKey: .nextOffset)
        }
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountView> {
        guard let identity = context.identity,
            let account = try await store.withTransaction({ try await $0.account(id: identity.accountID) })
        else {
            // A valid token for an account that no longer exists.
            throw Problem(
                status: .unauthorized, code: "invalid_token", title: "Unauthorized", detail: "The account is gone.")
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: AccountView(account))
    }

    static let maxPageSize = 100

    @Sendable func users(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountPage> {
        let query = request.uri.queryParameters
        var violations: [FieldViolation] = []
        var status: AccountStatus?
        if let raw = query["status"] {
            status = AccountStatus(rawValue: String(raw))
            if status == nil {
                violations.append(FieldViolation(field: "status", rule: "one_of", detail: "Use pending or active."))
            }
        }
        let limit = Self.integer(
            query["limit"], name: "limit", default: 20, range: 1...Self.maxPageSize, into: &violations)
        let offset = Self.integer(
            query["offset"], name: "offset", default: 0, range: 0...Int(Int32.max), into: &violations)
        guard violations.isEmpty else { throw ValidationError(violations) }
        let filter = status
        let (accounts, total) = try await store.withTransaction { transaction in
            (
                try await transaction.listAccounts(status: filter, limit: limit, offset: offset),
                try await transaction.countAccounts(status: filter)
            )
        }
        let next = offset + accounts.count < total ? offset + accounts.count : nil
        return EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: AccountPage(
                users: accounts.map(AccountView.init), total: total, limit: limit, offset: offset, nextOffset: next)
        )
    }

    private static func integer(
        _ raw: Substring?,
        name: String,
        default defaultValue: Int,
        range: ClosedRange<Int>,
        into violations: inout [FieldViolation]
    ) -> Int {
        guard let raw else { return defaultValue }
        guard let value = Int(raw), range.contains(value) else {
            violations.append(
                FieldViolation(
                    field: name,
                    rule: "range",
                    detail: "Must be a whole number from \(range.lowerBound) to \(range.upperBound)."
                )
            )
            return defaultValue
        }
        return value
    }
}
