import HTTPTypes
import Hummingbird

/// Guards a group of routes: a valid Bearer access token is required (401 otherwise, with
/// `WWW-Authenticate: Bearer`), and when `requiredRole` is set the token must carry it (403).
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let tokens: AccessTokens
    let requiredRole: Role?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Self.unauthenticated(
                code: "authentication_required",
                detail: "This resource needs an access token: send Authorization: Bearer <token>.",
                challenge: #"Bearer realm="registration-service""#
            )
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Self.unauthenticated(
                code: "invalid_token",
                detail: "The Authorization header must be: Bearer <token>.",
                challenge: #"Bearer realm="registration-service", error="invalid_request""#
            )
        }
        let identity: Identity
        do {
            identity = try await tokens.verify(String(parts[1]).trimmingWhitespace())
        } catch {
            throw Self.unauthenticated(
                code: "invalid_token",
                detail: "The access token is invalid or has expired. Log in or refresh to get a new one.",
                challenge: #"Bearer realm="registration-service", error="invalid_token""#
            )
        }
        if let requiredRole, !identity.roles.contains(requiredRole) {
            throw Problem(
                status: .forbidden,
                code: "forbidden",
                title: "Forbidden",
                detail: "This resource needs the \(requiredRole.rawValue) role."
            )
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }

    private static func unauthenticated(code: String, detail: String, challenge: String) -> Problem {
        var problem = Problem(status: .unauthorized, code: code, title: "Unauthorized", detail: detail)
        problem.headers[.wwwAuthenticate] = challenge
        return problem
    }
}
