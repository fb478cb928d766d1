import Foundation

/// OpenTelemetry tracing, from the standard `OTEL_*` variables. Off unless an OTLP endpoint is
/// set (and `OTEL_SDK_DISABLED` is not `true`): then nothing is built and nothing is recorded.
public struct TracingSettings: Sendable {
    public enum ExportProtocol: String, Sendable {
        case httpProtobuf = "http/protobuf"
        case httpJSON = "http/json"
    }

    public enum Sampler: Sendable, Equatable {
        case alwaysOn, alwaysOff
        case traceIDRatio(Double)
        case parentBasedAlwaysOn, parentBasedAlwaysOff
        case parentBasedTraceIDRatio(Double)
    }

    /// The traces URL spans are posted to (`…/v1/traces`); nil: tracing is off.
    public var endpoint: String?
    public var exportProtocol: ExportProtocol
    public var serviceName: String
    public var resourceAttributes: [String: String]
    public var sampler: Sampler
    /// Sent with every export (e.g. a collector's API key): a secret, never logged.
    public var headers: [(String, String)]
    /// Longest one export may take; spans of a failed export are dropped.
    public var exportTimeout: Duration
    /// Spans waiting for export at most; more are dropped (a collector that is down never
    /// grows the server's memory).
    public var maxQueueSize: Int
    /// How long finished spans wait to be exported with others (`OTEL_BSP_SCHEDULE_DELAY`).
    public var scheduleDelay: Duration = .seconds(5)
    /// How long shutdown waits for the last export (`TRACING_SHUTDOWN_TIMEOUT_MS`); spans
    /// still queued then are dropped.
    public var shutdownTimeout: Duration

    public var enabled: Bool { endpoint != nil }

    public init(
        endpoint: String? = nil, exportProtocol: ExportProtocol = .httpProtobuf,
        serviceName: String = "registration-service", resourceAttributes: [String: String] = [:],
        sampler: Sampler = .parentBasedAlwaysOn, headers: [(String, String)] = [],
        exportTimeout: Duration = .seconds(10), maxQueueSize: Int = 2048, shutdownTimeout: Duration = .seconds(5)
    ) {
        self.endpoint = endpoint
        self.exportProtocol = exportProtocol
        self.serviceName = serviceName
        self.resourceAttributes = resourceAttributes
        self.sampler = sampler
        self.headers = headers
        self.exportTimeout = exportTimeout
        self.maxQueueSize = maxQueueSize
        self.shutdownTimeout = shutdownTimeout
    }
}

extension TracingSettings {
    init(reading env: EnvironmentReader) throws(ConfigurationError) {
        self.init()
        let disabled = env.string("OTEL_SDK_DISABLED")?.lowercased() == "true"
        if let traces = env.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            endpoint = try Self.url(traces, variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        } else if let base = env.string("OTEL_EXPORTER_OTLP_ENDPOINT") {
            let url = try Self.url(base, variable: "OTEL_EXPORTER_OTLP_ENDPOINT")
            endpoint = url.hasSuffix("/") ? url + "v1/traces" : url + "/v1/traces"
        }
        if disabled { endpoint = nil }
        let protocolVariable =
            env.string("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != nil
            ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL"
        if env.string(protocolVariable)?.lowercased() == "grpc" {
            throw ConfigurationError(
                variable: protocolVariable, reason: "grpc is not built in: use http/protobuf (the default) or http/json"
            )
        }
        exportProtocol = try env.oneOf(
            protocolVariable, default: .httpProtobuf,
            choices: ["http/protobuf": .httpProtobuf, "http/json": .httpJSON])
        serviceName = env.string("OTEL_SERVICE_NAME", default: serviceName)
        for (key, value) in try Self.pairs(
            env.string("OTEL_RESOURCE_ATTRIBUTES"), variable: "OTEL_RESOURCE_ATTRIBUTES")
        {
            resourceAttributes[key] = value
        }
        let tracesHeaders = try env.secret("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        let allHeaders = try env.secret("OTEL_EXPORTER_OTLP_HEADERS")
        headers = try Self.pairs(tracesHeaders ?? allHeaders, variable: "OTEL_EXPORTER_OTLP_HEADERS")
        sampler = try Self.sampler(env)
        exportTimeout = .milliseconds(
            try env.integer("OTEL_EXPORTER_OTLP_TIMEOUT", default: 10_000, range: 100...120_000))
        maxQueueSize = try env.integer("OTEL_BSP_MAX_QUEUE_SIZE", default: 2048, range: 1...1_000_000)
        scheduleDelay = .milliseconds(try env.integer("OTEL_BSP_SCHEDULE_DELAY", default: 5000, range: 1...600_000))
        shutdownTimeout = .milliseconds(
            try env.integer("TRACING_SHUTDOWN_TIMEOUT_MS", default: 5000, range: 0...60_000))
    }

    private static func url(_ raw: String, variable: String) throws(ConfigurationError) -> String {
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host != nil
        else {
            throw ConfigurationError(variable: variable, reason: "must be an http or https URL, got \"\(raw)\"")
        }
        return raw
    }

    /// `key=value,key=value` (W3C baggage-like, values percent-decoded), as the specification has it.
    private static func pairs(_ raw: String?, variable: String) throws(ConfigurationError) -> [(String, String)] {
        guard let raw else { return [] }
        var pairs: [(String, String)] = []
        for item in raw.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, let value = parts[1].removingPercentEncoding else {
                throw ConfigurationError(variable: variable, reason: "must be key=value pairs separated by commas")
            }
            pairs.append((parts[0], value))
        }
        return pairs
    }

    private static func sampler(_ env: EnvironmentReader) throws(ConfigurationError) -> Sampler {
        let name = env.string("OTEL_TRACES_SAMPLER")?.lowercased() ?? "parentbased_always_on"
        func ratio() throws(ConfigurationError) -> Double {
            guard let raw = env.string("OTEL_TRACES_SAMPLER_ARG") else { return 1 }
            guard let value = Double(raw), (0...1).contains(value) else {
                throw ConfigurationError(
                    variable: "OTEL_TRACES_SAMPLER_ARG", reason: "must be a number from 0 to 1, got \"\(raw)\"")
            }
            return value
        }
        switch name {
        case "always_on": return .alwaysOn
        case "always_off": return .alwaysOff
        case "traceidratio": return .traceIDRatio(try ratio())
        case "parentbased_always_on": return .parentBasedAlwaysOn
        case "parentbased_always_off": return .parentBasedAlwaysOff
        case "parentbased_traceidratio": return .parentBasedTraceIDRatio(try ratio())
        default:
            throw ConfigurationError(
                variable: "OTEL_TRACES_SAMPLER",
                reason:
                    "must be one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio; got \"\(name)\""
            )
        }
    }
}
