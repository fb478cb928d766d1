import Tracing

/// W3C `traceparent` values: of the request being served, for the emails it queues, and back
/// into a context for the delivery's span.
public enum TraceParent {
    /// The `traceparent` of the request being served, when it is recorded (`Spans.work`); read
    /// by `OutboxEmail`, so it is formatted only for a request that queues an email.
    public static var current: String? {
        guard let work = Spans.work, let request = work.request else { return nil }
        return of(request, tracer: work.tracer)
    }

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
