import Foundation
import Hummingbird

/// `POST /v1/password/forgot`, and `GET`/`POST /v1/password/reset`.
///
/// The link in the reset email opens `GET /v1/password/reset?token=…`, a minimal built-in
/// form (unless `PASSWORD_RESET_URL` points to a product's own page). The form posts
/// `application/x-www-form-urlencoded` and gets HTML back; API clients post JSON and get
/// 204 or a problem.
struct PasswordResetController {
    let service: PasswordResetService
    let limiter: RateLimiter
    let limits: RateLimitSettings

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("password/forgot", use: forgot)
        routes.get("password/reset", use: form)
        routes.post("password/reset", use: reset)
        return routes
    }

    @Sendable func forgot(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted> {
        let key = try IdempotencyKey.read(from: request.headers)
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let email = try StringFields.email(object)
        try await limiter.consumeEmailRequest(email: email, clientNetwork: context.clientNetwork, limits: limits)
        let outcome = try await service.requestReset(
            for: email, idempotencyKey: key, requestID: context.requestID, logger: context.logger)
        return Accepted.response(outcome)
    }

    @Sendable func form(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        do {
            try await service.checkToken(token)
        } catch {
            return Self.page(for: ProblemMiddleware.problem(for: error))
        }
        return HTMLPages.response(
            status: .ok,
            title: "Choose a new password",
            bodyHTML: """
                <form method="post" action="/v1/password/reset">
                <input type="hidden" name="token" value="\(EmailTemplates.escape(token))">
                <label for="password">New password (\(PasswordPolicy.minimumLength) to \(PasswordPolicy.maximumLength) characters)</label>
                <input type="password" id="password" name="password" autocomplete="new-password" required \
                minlength="\(PasswordPolicy.minimumLength)" maxlength="\(PasswordPolicy.maximumLength)">
                <button type="submit">Set new password</button>
                </form>
                """
        )
    }

    struct FormFields: Decodable {
        let token: String?
        let password: String?
    }

    @Sendable func reset(_ request: Request, context: AppRequestContext) async throws -> Response {
        if BodyReader.isForm(request) {
            return try await resetFromForm(request, context: context)
        }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["token", "password"])
        let email = try await service.reset(
            token: values["token"]!,
            password: values["password"]!,
            requestID: context.requestID,
            logger: context.logger
        )
        try await clearLoginFailures(email)
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    private func resetFromForm(_ request: Request, context: AppRequestContext) async throws -> Response {
        let fields = try await BodyReader.form(FormFields.self, from: request, context: context)
        do {
            let email = try await service.reset(
                token: fields?.token ?? "",
                password: fields?.password ?? "",
                requestID: context.requestID,
                logger: context.logger
            )
            try await clearLoginFailures(email)
        } catch {
            return Self.page(for: ProblemMiddleware.problem(for: error))
        }
        return HTMLPages.response(
            status: .ok,
            title: "Password changed",
            message: "Your password has been changed and every session was signed out. You can now log in with it."
        )
    }

    /// A completed reset gives the owner the account back: the login throttle that a third
    /// party's guesses filled is cleared.
    private func clearLoginFailures(_ email: EmailAddress?) async throws {
        if let email { try await limiter.clearLoginFailures(email: email) }
    }

    private static func page(for problem: Problem) -> Response {
        let detail = problem.errors?.map(\.detail).joined(separator: " ") ?? problem.detail
        var page = HTMLPages.response(status: .init(code: problem.status), title: problem.title, message: detail)
        for field in problem.headers { page.headers[field.name] = field.value }  // e.g. Retry-After
        return page
    }
}
