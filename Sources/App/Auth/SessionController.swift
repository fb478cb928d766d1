import Foundation
import Hummingbird
import Logging

/// `POST /v1/login`, `POST /v1/token/refresh`, `POST /v1/logout`.
struct SessionController {
    let sessions: SessionService
    let limiter: RateLimiter
    let limits: RateLimitSettings
    let metrics: ServiceMetrics

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("login", use: login)
        routes.post("token/refresh", use: refresh)
        routes.post("logout", use: logout)
        return routes
    }

    /// RFC 6749 §5.1 shape.
    struct TokenResponse: ResponseEncodable {
        let accessToken: String
        let tokenType = "Bearer"
        let expiresIn: Int
        let refreshToken: String

        init(_ pair: TokenPair) {
            self.accessToken = pair.accessToken
            self.expiresIn = pair.expiresIn
            self.refreshToken = pair.refreshToken
        }

        enum CodingKeys: String, CodingKey {
            case accessToken = "access_token"
            case tokenType = "token_type"
            case expiresIn = "expires_in"
            case refreshToken = "refresh_token"
        }
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TokenResponse> {
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["email", "password"]) { values in
            values["email"].flatMap { StringFields.emailViolation($0) }.map { [$0] } ?? []
        }
        let email = EmailAddress(values["email"]!)!
        let pair: TokenPair
        // Under overload, refuse before touching the rate-limit counters or the database.
        try await sessions.hasher.checkCapacity()
        let started = Date()
        do {
            try await limiter.consume("login:ip:\(context.clientNetwork)", limit: limits.loginPerIP)
            try await limiter.consumeLoginAttempt(
                email: email, clientNetwork: context.clientNetwork, limits: limits, now: started)
            pair = try await sessions.login(email: email, password: values["password"]!, logger: context.logger)
        } catch AuthError.invalidCredentials {
            metrics.login("invalid_credentials")
            throw AuthError.invalidCredentials
        } catch let error as RateLimitExceeded {
            metrics.login("throttled")
            throw error
        }
        try await limiter.loginSucceeded(email: email, clientNetwork: context.clientNetwork, startedAt: started)
        metrics.login("success")
        return Self.noStore(TokenResponse(pair))
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TokenResponse>
    {
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["refresh_token"])
        try await limiter.consume("refresh:ip:\(context.clientNetwork)", limit: limits.refreshPerIP)
        let pair = try await sessions.refresh(values["refresh_token"]!, logger: context.logger)
        return Self.noStore(TokenResponse(pair))
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["refresh_token"])
        try await sessions.logout(values["refresh_token"]!, logger: context.logger)
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    static func noStore<Body: ResponseEncodable>(_ body: Body) -> EditedResponse<Body> {
        EditedResponse(status: .ok, headers: [.cacheControl: "no-store"], response: body)
    }
}
