import Hummingbird
import Logging

/// `GET /v1/verify?token=…`: the link in the verification email.
///
/// Browsers (Accept prefers `text/html`) get a small HTML page, API clients JSON; failures
/// are problem+json for API clients and an HTML page with the same status for browsers.
struct VerificationController {
    let service: VerificationService
    let registration: RegistrationService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("verify", use: verify)
        routes.post("verify/resend", use: resend)
        return routes
    }

    /// `POST /v1/verify/resend {"email"}`: 202 whatever the address, like registration.
    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Accepted> {
        let object = try await JSONRequestBody.object(from: request, context: context)
        let email = try StringFields.email(object)
        try await registration.resendVerification(to: email, requestID: context.requestID, logger: context.logger)
        return EditedResponse(status: .accepted, headers: [.cacheControl: "no-store"], response: Accepted())
    }

    struct Verified: ResponseEncodable {
        let status: String
        let message: String
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let wantsHTML = HTMLPages.prefersHTML(request.headers[.accept])
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        do {
            let outcome = try await service.verify(token: token, logger: context.logger)
            let body: Verified
            switch outcome {
            case .verified:
                body = Verified(
                    status: "verified", message: "Your email address is confirmed and your account is active.")
            case .alreadyVerified:
                body = Verified(
                    status: "already_verified",
                    message: "Your email address was already confirmed. Your account is active.")
            }
            if wantsHTML {
                return HTMLPages.response(status: .ok, title: "Email address confirmed", message: body.message)
            }
            var response = try body.response(from: request, context: context)
            response.headers[.cacheControl] = "no-store"
            return response
        } catch {
            let problem = ProblemMiddleware.problem(for: error)
            guard wantsHTML, problem.status < 500 else { throw error }
            return HTMLPages.response(
                status: .init(code: problem.status), title: problem.title, message: problem.detail)
        }
    }
}
