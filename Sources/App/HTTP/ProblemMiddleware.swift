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
            if let unavailable = error as? DatabaseUnavailable {
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
                    "event": "http.error", "error": "\(String(reflecting: type(of: error)))",
                ]
                if let diagnosis = PostgresCalls.diagnosis(error) { metadata["diagnosis"] = "\(diagnosis)" }
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
}
