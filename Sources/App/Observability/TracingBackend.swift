import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// The tracer the application uses and the service that exports its spans.
///
/// Built from `TracingSettings` (not from the process-wide `InstrumentationSystem`), so each
/// application in a process (the tests run many) has its own, and tracing that is off costs
/// one `NoOpTracer` call per span site.
public struct TracingBackend: Sendable {
    public let tracer: any Tracer
    /// Exports batches of finished spans; nil when tracing is off.
    public let service: (any Service)?

    public static let off = TracingBackend(tracer: NoOpTracer(), service: nil)

    /// Adds `trace_id` and `span_id` to every log line written inside a span (nothing otherwise).
    public static let logMetadata: Logger.MetadataProvider = OTel.makeLoggingMetadataProvider()

    public static func make(_ settings: TracingSettings, logger: Logger) throws -> TracingBackend {
        guard let endpoint = settings.endpoint else { return .off }
        var configuration = OTel.Configuration.default
        configuration.serviceName = settings.serviceName
        configuration.resourceAttributes = settings.resourceAttributes
        // swift-otel reports every failed export; a collector that is down would flood the log.
        let diagnostics = RateLimitedLogHandler(wrapping: logger, interval: .seconds(60))
        configuration.diagnosticLogger = .custom(Logger(label: "otel") { _ in diagnostics })
        configuration.diagnosticLogLevel = .warning
        configuration.propagators = [.traceContext]
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.otlpExporter.protocol =
            settings.exportProtocol == .httpJSON ? .httpJSON : .httpProtobuf
        configuration.traces.otlpExporter.headers = settings.headers
        configuration.traces.otlpExporter.timeout = settings.exportTimeout
        configuration.traces.batchSpanProcessor.maxQueueSize = settings.maxQueueSize
        configuration.traces.batchSpanProcessor.exportTimeout = settings.exportTimeout
        configuration.traces.batchSpanProcessor.scheduleDelay = settings.scheduleDelay
        configuration.traces.sampler = settings.sampler.otel
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        return TracingBackend(
            tracer: backend.factory,
            service: BoundedShutdown(exporting: backend.service, deadline: settings.shutdownTimeout))
    }
}

/// Runs the exporter; at shutdown it exports what is queued, and is stopped when that takes
/// longer than `deadline` (a collector that is down must not hold the process past its stop
/// timeout). The rest of the spans are dropped.
struct BoundedShutdown: Service {
    let exporting: any Service
    let deadline: Duration

    func run() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await exporting.run()
                return true
            }
            group.addTask {
                // Returns when the group shuts this service down (throws when cancelled).
                try await gracefulShutdown()
                try await Task.sleep(for: deadline)
                return false
            }
            defer { group.cancelAll() }
            // Whichever ends first: the exporter (flushed, or failed), or the deadline.
            _ = try await group.next()
        }
    }
}

extension TracingSettings.Sampler {
    fileprivate var otel: OTel.Configuration.TracesConfiguration.SamplerConfiguration {
        switch self {
        case .alwaysOn: .alwaysOn
        case .alwaysOff: .alwaysOff
        case .traceIDRatio(let ratio): .traceIDRatio(ratio: ratio) ?? .alwaysOn
        case .parentBasedAlwaysOn: .parentBasedAlwaysOn
        case .parentBasedAlwaysOff: .parentBasedAlwaysOff
        case .parentBasedTraceIDRatio(let ratio): .parentBasedTraceIDRatio(ratio: ratio) ?? .parentBasedAlwaysOn
        }
    }
}

/// Passes each diagnostic message on at most once per `interval`, with how many copies it held
/// back since: an exporter whose collector is down reports every failed export, and that must
/// not flood the log.
struct RateLimitedLogHandler: LogHandler {
    final class Gate: Sendable {
        let seen = Mutex<[String: (last: ContinuousClock.Instant, held: Int)]>([:])
    }

    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]
    let wrapping: Logger
    let interval: Duration
    let gate = Gate()

    init(wrapping: Logger, interval: Duration) {
        self.wrapping = wrapping
        self.interval = interval
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let key = event.message.description
        let now = ContinuousClock.now
        let interval = self.interval
        let held: Int? = gate.seen.withLock { seen in
            if let entry = seen[key], now - entry.last < interval {
                seen[key]?.held += 1
                return nil
            }
            let held = seen[key]?.held ?? 0
            seen[key] = (now, 0)
            return held
        }
        guard let held else { return }
        var fields = metadata.merging(event.metadata ?? [:]) { _, new in new }
        fields["event"] = "otel.diagnostic"
        if held > 0 { fields["suppressed"] = "\(held)" }
        wrapping.log(level: event.level, event.message, metadata: fields)
    }
}
