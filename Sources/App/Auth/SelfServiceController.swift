import Foundation
import Hummingbird

/// What a signed-in account does to itself: `POST /v1/me/password`.
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
        return routes
    }

    /// Current and new password in; a new token pair out (every other session has ended).
    @Sendable func changePassword(
        _ request: Request, context: AppRequestContext
    ) async throws -> EditedResponse<SessionController.TokenResponse> {
        guard let identity = context.identity else { throw PasswordChangeError(.accountGone) }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["current_password", "new_password"])
        try await sessions.hasher.checkCapacity()
        // Guessing the current password with a stolen access token is bounded like logins:
        // per network, and per account (every attempt counts).
        try await limiter.consume("login:ip:\(context.clientNetwork)", limit: limits.loginPerIP)
        try await limiter.consume(
            "password_change:account:\(identity.accountID.lowercased)", limit: limits.loginFailuresPerAccount)
        let pair = try await sessions.changePassword(
            accountID: identity.accountID, current: values["current_password"]!, new: values["new_password"]!,
            policy: policy, signal: signal, requestID: context.requestID, logger: context.logger)
        return SessionController.noStore(SessionController.TokenResponse(pair))
    }
}
