import HTTPTypes
import Hummingbird
import Tracing

/// One server span per request, continuing the caller's trace (W3C `traceparent`/`tracestate`).
/// Its name is the method and the route pattern, never the raw path or query (a link's token
/// travels in the query); attributes: method, route, status code and the request id.
struct ServerSpanMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let tracer: any Tracer

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        tracer.extract(request.headers, into: &parent, using: HTTPFieldsExtractor())
        let method = request.method.rawValue
        let span = tracer.startSpan(method, context: parent, ofKind: .server)
        // A request the sampler left out runs as if tracing were off: no context for its log
        // lines, its children or its emails (measured: carrying it cost verification 3% of its
        // throughput, for ids that lead to no trace).
        guard span.isRecording else {
            span.end()
            return try await next(request, context)
        }
        defer { span.end() }
        span.attributes["http.request.method"] = method
        span.attributes["http.request.id"] = context.requestID
        do {
            let work = Spans.Work(tracer: tracer, request: span.context)
            let response = try await ServiceContext.withValue(span.context) {
                try await Spans.$work.withValue(work) { try await next(request, context) }
            }
            finish(span, method: method, route: context.endpointPath, status: Int(response.status.code))
            return response
        } catch {
            // ProblemMiddleware (inside this one) answers every error; what reaches here is
            // Hummingbird's own (e.g. no route), with its status.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            finish(span, method: method, route: context.endpointPath, status: status)
            throw error
        }
    }

    private func finish(_ span: any Span, method: String, route: String?, status: Int) {
        span.operationName = "\(method) \(route ?? "unmatched")"
        span.attributes["http.route"] = route ?? "unmatched"
        span.attributes["http.response.status_code"] = status
        if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }
}

/// Reads W3C trace context headers from a request.
struct HTTPFieldsExtractor: Extractor {
    private static let traceParent = HTTPField.Name("traceparent")!
    private static let traceState = HTTPField.Name("tracestate")!

    func extract(key: String, from carrier: HTTPFields) -> String? {
        switch key {
        case "traceparent": carrier[Self.traceParent]
        case "tracestate": carrier[Self.traceState]
        default: HTTPField.Name(key).flatMap { carrier[$0] }
        }
    }
}
