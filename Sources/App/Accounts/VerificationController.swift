import Hummingbird
import Logging

/// `GET /v1/verify?token=…`: the link in the verification email.
///
/// Browsers (Accept prefers `text/html`) get a small HTML page, API clients JSON; failures
/// are problem+json for API clients and an HTML page with the same status for browsers.
struct VerificationController {
    let service: VerificationService
    let registration: RegistrationService
    let limiter: RateLimiter
    let limits: RateLimitSettings
    /// `VERIFY_CONFIRM_STEP`: GET shows a confirm button; only the POST it sends activates.
    let confirmStep: Bool

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("verify", use: verify)
        routes.post("verify", use: confirm)
        routes.post("verify/resend", use: resend)
        return routes
    }

    /// `POST /v1/verify/resend {"email"}`: 202 whatever the address, like registration.
    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted> {
        let key = try IdempotencyKey.read(from: request.headers)
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let email = try StringFields.email(object)
        try await limiter.consumeEmailRequest(email: email, clientIP: context.clientIP, limits: limits)
        let outcome = try await registration.resendVerification(
            to: email, idempotencyKey: key, requestID: context.requestID, logger: context.logger)
        return Accepted.response(outcome)
    }

    struct Verified: ResponseEncodable {
        let status: String
        let message: String
    }

    static let verified = Verified(
        status: "verified", message: "Your email address is confirmed and your account is active.")
    static let alreadyVerified = Verified(
        status: "already_verified", message: "Your email address was already confirmed. Your account is active.")
    // Encoded once: verification is the busiest endpoint.
    static let verifiedJSON = PreencodedJSON(verified)
    static let alreadyVerifiedJSON = PreencodedJSON(alreadyVerified)

    /// `GET /v1/verify?token=…`: activates, or with the confirm step shows the confirmation page.
    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let wantsHTML = HTMLPages.prefersHTML(request.headers[.accept])
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard confirmStep else { return try await activate(token: token, wantsHTML: wantsHTML, request, context) }
        guard OpaqueToken(parsing: token) != nil else {
            return try await activate(token: token, wantsHTML: wantsHTML, request, context)  // answers invalid_token
        }
        // Opening the link changes nothing: mail filters that fetch every link cannot
        // activate an account. The person clicks the button, which POSTs the token.
        if wantsHTML {
            return HTMLPages.response(
                status: .ok,
                title: "Confirm your email address",
                bodyHTML: """
                    <p>Confirm that this email address is yours to activate your account.</p>
                    <form method="post" action="/v1/verify">
                    <input type="hidden" name="token" value="\(EmailTemplates.escape(token))">
                    <button type="submit">Confirm my email address</button>
                    </form>
                    """
            )
        }
        var response = try Verified(
            status: "confirmation_required",
            message: "POST the token to /v1/verify to confirm the address."
        ).response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    struct ConfirmForm: Decodable {
        let token: String?
    }

    /// `POST /v1/verify`: activates; from the confirmation page (a form) or as JSON `{"token"}`.
    @Sendable func confirm(_ request: Request, context: AppRequestContext) async throws -> Response {
        if BodyReader.isForm(request) {
            let token = try await BodyReader.form(ConfirmForm.self, from: request, context: context)?.token ?? ""
            return try await activate(token: token, wantsHTML: true, request, context)
        }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, ["token"])
        return try await activate(token: values["token"]!, wantsHTML: false, request, context)
    }

    private func activate(
        token: String, wantsHTML: Bool, _ request: Request, _ context: AppRequestContext
    ) async throws
        -> Response
    {
        do {
            let outcome = try await service.verify(token: token, logger: context.logger)
            let isNew = if case .verified = outcome { true } else { false }
            if wantsHTML {
                let message = isNew ? Self.verified.message : Self.alreadyVerified.message
                return HTMLPages.response(status: .ok, title: "Email address confirmed", message: message)
            }
            return (isNew ? Self.verifiedJSON : Self.alreadyVerifiedJSON).response(headers: [.cacheControl: "no-store"])
        } catch {
            let problem = ProblemMiddleware.problem(for: error)
            guard wantsHTML, problem.status < 500 else { throw error }
            return HTMLPages.response(
                status: .init(code: problem.status), title: problem.title, message: problem.detail)
        }
    }
}
