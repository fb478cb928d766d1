import Foundation
import Hummingbird

/// What a signed-in account does to itself: `POST /v1/me/password`, `POST /v1/me/email`,
/// `GET /v1/me/sessions`, `DELETE /v1/me/sessions/{id}`, `DELETE /v1/me`.
struct SelfServiceController {
    let sessions: SessionService
    let emailChanges: EmailChangeService
    let policy: PasswordPolicy
    let signal: OutboxSignal
    let tokens: AccessTokens
    let limiter: RateLimiter
    let limits: RateLimitSettings

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.group("me")
            .add(middleware: AuthenticationMiddleware(tokens: tokens, requiredRole: nil))
            .post("password", use: changePassword)
            .post("email", use: changeEmail)
            .get("sessions", use: listSessions)
            .delete("sessions/:id", use: endSession)
            .delete(use: deleteAccount)
        return routes
    }

    /// The new address and the password in; 202 whatever the new address is.
    @Sendable func changeEmail(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted>
    {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["new_email", "password"]) { values in
            values["new_email"].flatMap { StringFields.emailViolation($0, field: "new_email") }.map { [$0] } ?? []
        }
        try await checkPasswordBudget(identity, context: context)
        try await emailChanges.request(
            accountID: identity.accountID, newAddress: EmailAddress(values["new_email"]!)!,
            password: values["password"]!, requestID: context.requestID, logger: context.logger)
        return Accepted.response
    }

    struct SessionView: ResponseEncodable {
        let id: String
        let createdAt: Date
        let lastUsedAt: Date
        let expiresAt: Date
        let clientIP: String?
        let userAgent: String?
        let current: Bool

        enum CodingKeys: String, CodingKey {
            case id, current
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case expiresAt = "expires_at"
            case clientIP = "client_ip"
            case userAgent = "user_agent"
        }

        /// Unknown address and agent (sessions from before they were recorded) are `null`.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(lastUsedAt, forKey: .lastUsedAt)
            try container.encode(expiresAt, forKey: .expiresAt)
            try container.encode(clientIP, forKey: .clientIP)
            try container.encode(userAgent, forKey: .userAgent)
            try container.encode(current, forKey: .current)
        }
    }

    struct SessionList: ResponseEncodable {
        let sessions: [SessionView]
    }

    /// The account's live sessions; `current` marks the one the access token was issued in.
    @Sendable func listSessions(
        _ request: Request, context: AppRequestContext
    ) async throws -> EditedResponse<SessionList> {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        let records = try await sessions.sessions(of: identity.accountID)
        let views = records.map { record in
            SessionView(
                id: record.id.lowercased, createdAt: record.createdAt, lastUsedAt: record.lastUsedAt,
                expiresAt: record.expiresAt, clientIP: record.clientIP, userAgent: record.userAgent,
                current: record.id == identity.sessionID)
        }
        return EditedResponse(headers: [.cacheControl: "no-store"], response: SessionList(sessions: views))
    }

    /// Ends one of the account's sessions: 204, or 404 when it has no such live session.
    @Sendable func endSession(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        guard let raw = context.parameters.get("id"), let id = UUID(uuidString: raw) else {
            throw ValidationError([
                FieldViolation(field: "id", rule: "format", detail: "Must be a session id (a UUID).")
            ])
        }
        guard try await sessions.endSession(id, of: identity.accountID, logger: context.logger) else {
            throw Problem(
                status: .notFound, code: "session_not_found", title: "Not found",
                detail: "The account has no live session with this id.")
        }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    /// Current and new password in; a new token pair out (every other session has ended).
    @Sendable func changePassword(
        _ request: Request, context: AppRequestContext
    ) async throws -> EditedResponse<SessionController.TokenResponse> {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["current_password", "new_password"])
        try await checkPasswordBudget(identity, context: context)
        let pair = try await sessions.changePassword(
            accountID: identity.accountID, current: values["current_password"]!, new: values["new_password"]!,
            policy: policy, signal: signal, requestID: context.requestID, logger: context.logger)
        return SessionController.noStore(SessionController.TokenResponse(pair))
    }

    /// The account's password in; `204`, and the account is gone.
    @Sendable func deleteAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["password"])
        try await checkPasswordBudget(identity, context: context)
        try await sessions.deleteAccount(
            accountID: identity.accountID, password: values["password"]!, signal: signal,
            requestID: context.requestID, logger: context.logger)
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    /// Guessing the password with a stolen access token is bounded like logins: per network,
    /// and per account (every attempt counts, changes and deletions together). Under overload
    /// the request is refused before any counter moves.
    private func checkPasswordBudget(_ identity: Identity, context: AppRequestContext) async throws {
        try await sessions.hasher.checkCapacity()
        try await limiter.consume("login:ip:\(context.clientNetwork)", limit: limits.loginPerIP)
        try await limiter.consume(
            "password_check:account:\(identity.accountID.lowercased)", limit: limits.loginFailuresPerAccount)
    }
}
