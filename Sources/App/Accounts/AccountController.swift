import Foundation
import Hummingbird

/// `GET /v1/me` (any signed-in account) and the administrators' `/v1/admin/…`: the list of
/// accounts, disable, enable, delete, and the audit trail.
struct AccountController {
    let store: any AccountStore
    let tokens: AccessTokens
    let admin: AdminService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.group("me")
            .add(middleware: AuthenticationMiddleware(tokens: tokens, requiredRole: nil))
            .get(use: me)
        routes.group("admin")
            .add(middleware: AuthenticationMiddleware(tokens: tokens, requiredRole: .admin))
            .get("users", use: users)
            .post("users/:id/disable", use: disable)
            .post("users/:id/enable", use: enable)
            .delete("users/:id", use: delete)
            .get("audit", use: audit)
        return routes
    }

    struct AccountView: ResponseEncodable {
        let id: String
        let email: String
        let status: String
        let roles: [String]
        let createdAt: Date
        let verifiedAt: Date?
        let disabledAt: Date?

        init(_ account: AccountRecord) {
            self.id = account.id.uuidString.lowercased()
            self.email = account.email
            self.status = account.disabledAt == nil ? account.status.rawValue : AccountFilter.Status.disabled.rawValue
            self.roles = account.role.granted.map(\.rawValue)
            self.createdAt = account.createdAt
            self.verifiedAt = account.verifiedAt
            self.disabledAt = account.disabledAt
        }

        enum CodingKeys: String, CodingKey {
            case id, email, status, roles
            case createdAt = "created_at"
            case verifiedAt = "verified_at"
            case disabledAt = "disabled_at"
        }

        /// `verified_at` and `disabled_at` are `null` when not set, not missing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(email, forKey: .email)
            try container.encode(status, forKey: .status)
            try container.encode(roles, forKey: .roles)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(verifiedAt, forKey: .verifiedAt)
            try container.encode(disabledAt, forKey: .disabledAt)
        }
    }

    struct AccountPage: ResponseEncodable {
        let users: [AccountView]
        let total: Int
        let limit: Int
        let nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case users, total, limit
            case nextCursor = "next_cursor"
        }

        /// `next_cursor` is `null` on the last page, not missing.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(users, forKey: .users)
            try container.encode(total, forKey: .total)
            try container.encode(limit, forKey: .limit)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountView> {
        guard let identity = context.identity,
            let account = try await store.account(id: identity.accountID)
        else {
            // A valid token for an account that no longer exists.
            throw Problem(
                status: .unauthorized, code: "invalid_token", title: "Unauthorized", detail: "The account is gone.")
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: AccountView(account))
    }

    static let maxPageSize = 100
    static let maxPrefixLength = 254

    /// `GET /v1/admin/users?status=&email_prefix=&limit=&cursor=`: a page in creation order.
    @Sendable func users(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountPage> {
        let query = request.uri.queryParameters
        var violations: [FieldViolation] = []
        var filter = AccountFilter()
        if let raw = query["status"] {
            filter.status = AccountFilter.Status(rawValue: String(raw))
            if filter.status == nil {
                violations.append(
                    FieldViolation(field: "status", rule: "one_of", detail: "Use pending, active or disabled."))
            }
        }
        if let raw = query["email_prefix"] {
            if raw.isEmpty || raw.count > Self.maxPrefixLength
                || raw.unicodeScalars.contains(where: { $0.value < 0x20 })
            {
                violations.append(
                    FieldViolation(
                        field: "email_prefix", rule: "length",
                        detail: "Must be 1 to \(Self.maxPrefixLength) printable characters."))
            } else {
                filter.emailPrefix = String(raw).lowercased()
            }
        }
        let limit = Self.integer(
            query["limit"], name: "limit", default: 20, range: 1...Self.maxPageSize, into: &violations)
        let cursor = Self.cursor(query["cursor"], decode: AccountCursor.init(encoded:), into: &violations)
        guard violations.isEmpty else { throw ValidationError(violations) }
        let selected = filter
        let (accounts, total) = try await store.withTransaction { transaction in
            (
                try await transaction.listAccounts(selected, after: cursor, limit: limit),
                try await transaction.countAccounts(selected)
            )
        }
        let next =
            accounts.count == limit ? accounts.last.map { AccountCursor(createdAt: $0.createdAt, id: $0.id) } : nil
        return EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: AccountPage(
                users: accounts.map(AccountView.init), total: total, limit: limit, nextCursor: next?.encoded)
        )
    }

    /// `POST /v1/admin/users/{id}/disable`: the account as it is now.
    @Sendable func disable(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountView> {
        let (id, actor) = try target(context)
        guard let account = try await admin.disable(accountID: id, by: actor, logger: context.logger) else {
            throw Self.notFound
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: AccountView(account))
    }

    /// `POST /v1/admin/users/{id}/enable`: the account as it is now.
    @Sendable func enable(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AccountView> {
        let (id, actor) = try target(context)
        guard let account = try await admin.enable(accountID: id, by: actor, logger: context.logger) else {
            throw Self.notFound
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: AccountView(account))
    }

    /// `DELETE /v1/admin/users/{id}`: 204.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (id, actor) = try target(context)
        guard try await admin.delete(accountID: id, by: actor, requestID: context.requestID, logger: context.logger)
        else { throw Self.notFound }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    static let notFound = Problem(
        status: .notFound, code: "account_not_found", title: "Not found", detail: "There is no account with this id.")

    /// The account named in the path and the administrator acting on it. An administrator
    /// cannot disable or delete their own account here (it would lock the last one out):
    /// another administrator or the command line can.
    private func target(_ context: AppRequestContext) throws -> (UUID, AuditActor) {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else {
            throw ValidationError([
                FieldViolation(field: "id", rule: "format", detail: "Must be an account id (a UUID).")
            ])
        }
        guard id != identity.accountID else {
            throw Problem(
                status: .conflict, code: "own_account", title: "Not on your own account",
                detail: "Administrators cannot disable, enable or delete their own account; ask another administrator.")
        }
        return (id, .admin(identity.accountID))
    }

    struct AuditEventView: ResponseEncodable {
        let id: Int64
        let event: String
        let accountID: String?
        let actor: String
        let occurredAt: Date
        let clientIP: String?
        let userAgent: String?
        let requestID: String?
        let detail: [String: String]?

        init(_ record: AuditEventRecord) {
            self.id = record.id
            self.event = record.event
            self.accountID = record.accountID?.lowercased
            self.actor = record.actor
            self.occurredAt = record.occurredAt
            self.clientIP = record.clientIP
            self.userAgent = record.userAgent
            self.requestID = record.requestID
            self.detail = record.detail.flatMap {
                try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))
            }
        }

        enum CodingKeys: String, CodingKey {
            case id, event, actor, detail
            case accountID = "account_id"
            case occurredAt = "occurred_at"
            case clientIP = "client_ip"
            case userAgent = "user_agent"
            case requestID = "request_id"
        }

        /// Every key is present; unknown values are `null`.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(event, forKey: .event)
            try container.encode(accountID, forKey: .accountID)
            try container.encode(actor, forKey: .actor)
            try container.encode(occurredAt, forKey: .occurredAt)
            try container.encode(clientIP, forKey: .clientIP)
            try container.encode(userAgent, forKey: .userAgent)
            try container.encode(requestID, forKey: .requestID)
            try container.encode(detail ?? [:], forKey: .detail)
        }
    }

    struct AuditPage: ResponseEncodable {
        let events: [AuditEventView]
        let nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case events
            case nextCursor = "next_cursor"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(events, forKey: .events)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    /// `GET /v1/admin/audit?account_id=&limit=&cursor=`: newest first.
    @Sendable func audit(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AuditPage> {
        let query = request.uri.queryParameters
        var violations: [FieldViolation] = []
        var accountID: UUID?
        if let raw = query["account_id"] {
            accountID = UUID(uuidString: String(raw))
            if accountID == nil {
                violations.append(
                    FieldViolation(field: "account_id", rule: "format", detail: "Must be an account id (a UUID)."))
            }
        }
        let limit = Self.integer(
            query["limit"], name: "limit", default: 50, range: 1...Self.maxPageSize, into: &violations)
        let before = Self.cursor(query["cursor"], decode: Self.auditPosition, into: &violations)
        guard violations.isEmpty else { throw ValidationError(violations) }
        let account = accountID
        let events = try await store.withTransaction {
            try await $0.auditEvents(accountID: account, before: before, limit: limit)
        }
        let next = events.count == limit ? events.last.map { Self.auditCursor($0.id) } : nil
        return EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: AuditPage(events: events.map(AuditEventView.init), nextCursor: next))
    }

    /// An audit cursor: base64url of `e:<id>`, the last event of the page before.
    static func auditCursor(_ id: Int64) -> String { Data("e:\(id)".utf8).base64URLEncodedString() }

    static func auditPosition(_ encoded: String) -> Int64? {
        guard encoded.utf8.count <= 64, let data = Data(base64URLEncoded: encoded) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard text.hasPrefix("e:"), let id = Int64(text.dropFirst(2)), id > 0 else { return nil }
        return id
    }

    private static func cursor<Position>(
        _ raw: Substring?, decode: (String) -> Position?, into violations: inout [FieldViolation]
    ) -> Position? {
        guard let raw else { return nil }
        guard let position = decode(String(raw)) else {
            violations.append(
                FieldViolation(
                    field: "cursor", rule: "format", detail: "Use the next_cursor value of the page before."))
            return nil
        }
        return position
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
