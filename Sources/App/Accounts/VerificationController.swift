import HTTPTypes
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
        try await limiter.consumeEmailRequest(email: email, clientNetwork: context.clientNetwork, limits: limits)
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
        let password: String?
    }

    /// `POST /v1/verify`: activates; from the confirmation page (a form) or as JSON `{"token"}`.
    /// With `password` (the prompt shown when several registrations are waiting), activates
    /// only if it is the password chosen at the link's registration.
    @Sendable func confirm(_ request: Request, context: AppRequestContext) async throws -> Response {
        if BodyReader.isForm(request) {
            let form = try await BodyReader.form(ConfirmForm.self, from: request, context: context)
            return try await activate(
                token: form?.token ?? "", password: form?.password, wantsHTML: true, request, context)
        }
        let object = try await BodyReader.jsonObject(from: request, context: context)
        let values = try StringFields.read(object, object["password"] == nil ? ["token"] : ["token", "password"])
        return try await activate(
            token: values["token"]!, password: values["password"], wantsHTML: false, request, context)
    }

    private func activate(
        token: String, password: String? = nil, wantsHTML: Bool, _ request: Request, _ context: AppRequestContext
    ) async throws -> Response {
        do {
            let outcome: VerificationOutcome
            if let password {
                // A password check costs a bcrypt verification: admitted and limited like a login.
                try await service.hasher.checkCapacity()
                try await limiter.consume("verify-password:ip:\(context.clientNetwork)", limit: limits.loginPerIP)
                outcome = try await service.verify(token: token, password: password, logger: context.logger)
            } else {
                outcome = try await service.verify(token: token, logger: context.logger)
            }
            let isNew = if case .verified = outcome { true } else { false }
            if wantsHTML {
                let message = isNew ? Self.verified.message : Self.alreadyVerified.message
                return HTMLPages.response(status: .ok, title: "Email address confirmed", message: message)
            }
            return (isNew ? Self.verifiedJSON : Self.alreadyVerifiedJSON).response(headers: [.cacheControl: "no-store"])
        } catch let error as VerificationError where wantsHTML {
            switch error.kind {
            case .passwordRequired:
                return Self.passwordPage(token: token, status: .ok, notice: nil)
            case .passwordMismatch:
                return Self.passwordPage(token: token, status: .forbidden, notice: error.problem.detail)
            case .invalid, .expired:
                let problem = error.problem
                return HTMLPages.response(
                    status: .init(code: problem.status), title: problem.title, message: problem.detail)
            }
        }
    }

    /// The verification page that asks for the password chosen at the link's registration.
    static func passwordPage(token: String, status: HTTPResponse.Status, notice: String?) -> Response {
        let notice = notice.map { "<p role=\"alert\"><strong>\(EmailTemplates.escape($0))</strong></p>\n" } ?? ""
        return HTMLPages.response(
            status: status,
            title: "Enter your password to confirm",
            bodyHTML: """
                \(notice)<p>More than one registration is waiting for this email address. To confirm it, \
                enter the password you chose when you registered. If you did not register, ignore the email.</p>
                <form method="post" action="/v1/verify">
                <input type="hidden" name="token" value="\(EmailTemplates.escape(token))">
                <label for="password">Password</label>
                <input type="password" id="password" name="password" autocomplete="current-password" required \
                maxlength="\(PasswordPolicy.maximumLength)" autofocus>
                <button type="submit">Confirm my email address</button>
                </form>
                """
        )
    }
}
