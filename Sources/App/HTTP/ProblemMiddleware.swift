import Hummingbird
import Logging

/// The one place where errors become responses: every error is answered as problem+json,
/// and nothing internal (SQL, messages, stack traces) reaches the client.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let cause = Self.underlying(error)
            if let unavailable = cause as? DatabaseUnavailable {
                context.logger.warning(
                    "database unavailable",
                    metadata: [
                        "event": "db.unavailable", "reason": "\(unavailable.reason)",
                        "sqlstate": "\(unavailable.sqlState ?? "")",
                    ]
                )
                return unavailable.problem.response()
            }
            let problem = Self.problem(for: error)
            // A Problem thrown on purpose (e.g. 503 not ready) is an answer, not a failure.
            if problem.code == Problem.internalError.code {
                var metadata: Logger.Metadata = [
                    "event": "http.error", "error": "\(String(reflecting: type(of: cause)))",
                ]
                if let diagnosis = PostgresCalls.diagnosis(cause) { metadata["diagnosis"] = "\(diagnosis)" }
                context.logger.error("request failed", metadata: metadata)
            }
            return problem.response()
        }
    }

    static func problem(for error: any Error) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case let error as any ProblemRepresentable:
            return error.problem
        case let error as ValidationError:
            return .validation(error.violations)
        case let error as RequestBodyError:
            return problem(for: error)
        case let error as VerificationError:
            return problem(for: error)
        case let error as AuthError:
            return problem(for: error)
        case let error as PasswordResetError:
            return problem(for: error)
        case let error as RateLimitExceeded:
            var problem = Problem(
                status: .tooManyRequests,
                code: "rate_limited",
                title: "Too many requests",
                detail: "Too many requests of this kind; try again in \(error.retryAfter) seconds."
            )
            problem.headers[.retryAfter] = String(error.retryAfter)
            return problem
        case let error as HashQueueFull:
            var problem = Problem(
                status: .serviceUnavailable,
                code: "overloaded",
                title: "Overloaded",
                detail: "The service is busy; try again in \(error.retryAfter) seconds."
            )
            problem.headers[.retryAfter] = String(error.retryAfter)
            return problem
        case let error as HTTPError:
            return problem(forStatus: error.status)
        default:
            return .internalError
        }
    }

    static func problem(for error: RequestBodyError) -> Problem {
        switch error {
        case .unsupportedMediaType:
            return Problem(
                status: .unsupportedMediaType,
                code: "unsupported_media_type",
                title: "Unsupported media type",
                detail: "Send the body as JSON with Content-Type: application/json."
            )
        case .tooLarge(let limit):
            return Problem(
                status: .contentTooLarge,
                code: "body_too_large",
                title: "Request body too large",
                detail: "The request body must be at most \(limit) bytes."
            )
        case .malformed:
            return Problem(
                status: .badRequest,
                code: "malformed_json",
                title: "Malformed JSON",
                detail: "The request body is not well-formed UTF-8 JSON."
            )
        case .duplicateMember(let name):
            return Problem(
                status: .badRequest,
                code: "duplicate_member",
                title: "Duplicate JSON member",
                detail: "The request body names the member \"\(name.prefix(64))\" more than once."
            )
        case .tooDeep:
            return Problem(
                status: .badRequest,
                code: "json_too_deep",
                title: "JSON nested too deeply",
                detail: "The request body nests arrays or objects more than \(StrictJSONParser.maxDepth) levels deep."
            )
        case .timeout:
            var problem = Problem(
                status: .requestTimeout,
                code: "request_timeout",
                title: "Request timeout",
                detail: "The request body did not arrive in time."
            )
            problem.headers[.connection] = "close"
            return problem
        case .notAnObject:
            return .validation([
                FieldViolation(field: "", rule: "type", detail: "The request body must be a JSON object.")
            ])
        }
    }

    static func problem(for error: VerificationError) -> Problem {
        switch error.kind {
        case .invalid:
            return Problem(
                status: .badRequest,
                code: "invalid_token",
                title: "Invalid verification link",
                detail:
                    "This verification link is not valid. Check that it was copied completely, or register again to get a new one."
            )
        case .expired:
            return Problem(
                status: .gone,
                code: "expired_token",
                title: "Verification link expired",
                detail: "This verification link has expired. Register again with the same address to get a new one."
            )
        case .unavailable:
            return .internalError
        }
    }

    static func problem(for error: AuthError) -> Problem {
        switch error {
        case .invalidCredentials:
            return Problem(
                status: .unauthorized,
                code: "invalid_credentials",
                title: "Invalid credentials",
                detail: "The email address or the password is wrong."
            )
        case .emailNotVerified:
            return Problem(
                status: .forbidden,
                code: "email_not_verified",
                title: "Email address not verified",
                detail: "Confirm your email address with the link we sent you, or ask for a new link."
            )
        case .invalidRefreshToken:
            return Problem(
                status: .unauthorized,
                code: "invalid_grant",
                title: "Invalid refresh token",
                detail: "The refresh token is invalid, expired or revoked. Log in again."
            )
        }
    }

    static func problem(for error: PasswordResetError) -> Problem {
        switch error.kind {
        case .invalid:
            return Problem(
                status: .badRequest,
                code: "invalid_token",
                title: "Invalid reset link",
                detail: "This password reset link is not valid. Ask for a new one."
            )
        case .used:
            return Problem(
                status: .gone,
                code: "used_token",
                title: "Reset link already used",
                detail: "This password reset link was already used. Ask for a new one if you need to."
            )
        case .expired:
            return Problem(
                status: .gone,
                code: "expired_token",
                title: "Reset link expired",
                detail: "This password reset link has expired. Ask for a new one."
            )
        case .invalidPassword(let violations):
            return .validation(violations)
        case .unavailable:
            return .internalError
        }
    }

    static func problem(forStatus status: HTTPResponse.Status) -> Problem {
        switch status {
        case .notFound:
            return .notFound
        case .contentTooLarge:
            return problem(for: RequestBodyError.tooLarge(limit: AppRequestContext.maxBodySize))
        case .methodNotAllowed:
            return Problem(
                status: status,
                code: "method_not_allowed",
                title: "Method not allowed",
                detail: "This resource does not support this method."
            )
        default:
            guard status.code < 500 else { return .internalError }
            return Problem(
                status: status,
                code: "http_\(status.code)",
                title: status.reasonPhrase,
                detail: "The request could not be processed."
            )
        }
    }

    private static func underlying(_ error: any Error) -> any Error {
        if let error = error as? VerificationError, case .unavailable(let underlying) = error.kind { return underlying }
        if let error = error as? PasswordResetError, case .unavailable(let underlying) = error.kind {
            return underlying
        }
        return error
    }
}
