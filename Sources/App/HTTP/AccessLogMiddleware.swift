import Hummingbird
import Logging

/// Updates the request metrics and writes one log line per request: method, route pattern (never the raw path or query,
/// which may carry a token), status and duration.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let metrics: ServiceMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        metrics.request(
            route: context.endpointPath ?? "unmatched",
            method: request.method.rawValue,
            status: response.status.code,
            duration: elapsed
        )
        let milliseconds = Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000
        context.logger.info(
            "request",
            metadata: [
                "event": "http.request",
                "method": "\(request.method.rawValue)",
                "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(response.status.code)",
                "duration_ms": "\((milliseconds * 1000).rounded() / 1000)",
            ]
        )
        return response
    }
}
