import HTTPTypes
import Hummingbird

/// Adds the security headers to every response, errors and 404s included.
///
/// - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`.
/// - `Content-Security-Policy`: nothing may load; the built-in pages' inline style is allowed
///   by its hash, forms may only post to this origin, and no page may be framed.
/// - `Cache-Control: no-store` unless the route chose otherwise (only the JWKS and nothing
///   that carries a credential does), so no token or account data lands in a cache.
/// - `Strict-Transport-Security` when clients reach the service over HTTPS (TLS here, or a
///   trusted TLS-terminating proxy in front).
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let sendsHSTS: Bool

    static let contentSecurityPolicy =
        "default-src 'none'; style-src \(HTMLPages.stylesheetHash); form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'"
    static let hsts = "max-age=31536000; includeSubDomains"

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        if response.headers[.cacheControl] == nil {
            response.headers[.cacheControl] = "no-store"
        }
        if sendsHSTS {
            response.headers[.strictTransportSecurity] = Self.hsts
        }
        response.headers[.server] = nil
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}
