import Hummingbird

/// `GET /v1/email/confirm?token=…` (the link sent to the new address) and `POST /v1/email/confirm`.
///
/// Opening the link changes nothing: mail filters fetch links. Browsers get a page with a
/// button that POSTs the token; API clients POST `{"token"}` themselves.
struct EmailChangeController {
    let service: EmailChangeService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("email/confirm", use: page)
        routes.post("email/confirm", use: confirm)
        return routes
    }

    struct Outcome: ResponseEncodable {
        let status: String
        let message: String
    }

    static let changed = Outcome(
        status: "email_changed", message: "The account's email address is changed. Sign in with the new address.")

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard OpaqueToken(parsing: token) != nil else { throw EmailChangeError(.invalid) }
        if HTMLPages.prefersHTML(request.headers[.accept]) {
            return HTMLPages.response(
                status: .ok,
                title: "Confirm your new email address",
                bodyHTML: """
                    <p>Confirm that this email address is yours to make it your account's address.</p>
                    <form method="post" action="/v1/email/confirm">
                    <input type="hidden" name="token" value="\(EmailTemplates.escape(token))">
                    <button type="submit">Confirm my new email address</button>
                    </form>
                    """
            )
        }
        var response = try Outcome(
            status: "confirmation_required", message: "POST the token to /v1/email/confirm to change the address."
        ).response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    struct ConfirmForm: Decodable {
        let token: String?
    }

    @Sendable func confirm(_ request: Request, context: AppRequestContext) async throws -> Response {
        let wantsHTML = BodyReader.isForm(request)
        let token: String
        if wantsHTML {
            token = try await BodyReader.form(ConfirmForm.self, from: request, context: context)?.token ?? ""
        } else {
            let object = try await BodyReader.jsonObject(from: request, context: context)
            token = try StringFields.read(object, ["token"])["token"]!
        }
        do {
            try await service.confirm(token: token, logger: context.logger)
        } catch let error as EmailChangeError where wantsHTML {
            let problem = error.problem
            return HTMLPages.response(
                status: .init(code: problem.status), title: problem.title, message: problem.detail)
        }
        if wantsHTML {
            return HTMLPages.response(status: .ok, title: "Email address changed", message: Self.changed.message)
        }
        var response = try Self.changed.response(from: request, context: context)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
