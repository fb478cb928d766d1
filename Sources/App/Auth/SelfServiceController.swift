import Foundation
import Hummingbird

/// What a signed-in account does to itself: `POST /v1/me/password`, `DELETE /v1/me`.
struct SelfServiceController {
    let sessions: SessionService
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
            .delete(use: deleteAccount)
        return routes
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
