import HTTPTypes
import Hummingbird

/// Cross-origin access for exactly the configured origins (`CORS_ALLOWED_ORIGINS`).
///
/// A request from an allowed origin gets `Access-Control-Allow-Origin` naming that origin
/// (never `*`); a preflight from one is answered with the methods and headers the API uses.
/// Any other origin gets no CORS headers, so browsers keep their same-origin rule. Bearer
/// tokens, not cookies, carry credentials, so `Allow-Credentials` is never sent.
struct CORSPolicyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let allowedOrigins: Set<String>

    static let allowedMethods = "GET, POST, DELETE, OPTIONS"
    static let allowedHeaders = "Authorization, Content-Type, X-Request-ID"
    static let exposedHeaders = "X-Request-ID, Retry-After, WWW-Authenticate"
    static let maxAge = "600"

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let origin = request.headers[.origin]
        let allowed = origin.map { allowedOrigins.contains($0) } ?? false
        if request.method == .options, origin != nil, request.headers[.accessControlRequestMethod] != nil {
            var response = Response(status: .noContent)
            response.headers[.vary] = "Origin"
            if allowed, let origin {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlAllowMethods] = Self.allowedMethods
                response.headers[.accessControlAllowHeaders] = Self.allowedHeaders
                response.headers[.accessControlMaxAge] = Self.maxAge
            }
            return response
        }
        var response = try await next(request, context)
        response.headers[.vary] = "Origin"
        if allowed, let origin {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        }
        return response
    }
}
