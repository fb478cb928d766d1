import Tracing

/// The W3C `traceparent` of the request being served, when it is sampled: set by
/// `ServerSpanMiddleware`, read by `OutboxEmail` so the email's delivery can link to it.
public enum TraceParent {
    @TaskLocal public static var current: String?

    /// The `traceparent` header value `tracer` would send for `context`, if any.
    static func of(_ context: ServiceContext, tracer: any Tracer) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// The context a stored `traceparent` names (for a span link).
    static func context(_ traceParent: String, tracer: any Tracer) -> ServiceContext {
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": traceParent], into: &context, using: DictionaryExtractor())
        return context
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}
