import Crypto
import Testing

@testable import App

@Suite("Tracing configuration from the standard OTEL_* variables")
struct TracingConfigurationTests {
    let minimal = ["DATABASE_URL": "sqlite:/tmp/tracing-configuration.sqlite"]

    private func tracing(_ extra: [String: String]) throws -> TracingSettings {
        try AppConfiguration(environment: minimal.merging(extra) { $1 }).tracing
    }

    private func error(_ extra: [String: String]) -> ConfigurationError? {
        configurationError(minimal.merging(extra) { $1 })
    }

    @Test("off unless an endpoint is set; the defaults follow the specification")
    func defaults() throws {
        let off = try tracing([:])
        #expect(!off.enabled)
        #expect(off.endpoint == nil)
        let on = try tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"])
        #expect(on.enabled)
        #expect(on.endpoint == "http://collector:4318/v1/traces")
        #expect(on.exportProtocol == .httpProtobuf)
        #expect(on.serviceName == "registration-service")
        #expect(on.sampler == .parentBasedAlwaysOn)
        #expect(on.maxQueueSize == 2048)
        #expect(on.scheduleDelay == .seconds(5))
        #expect(on.exportTimeout == .seconds(10))
        #expect(on.shutdownTimeout == .seconds(5))
    }

    @Test("the traces endpoint is used as given and wins; OTEL_SDK_DISABLED=true turns tracing off")
    func endpoints() throws {
        #expect(
            try tracing(["OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example/"]).endpoint == "https://c.example/v1/traces"
        )
        let both = try tracing([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://traces.example/custom/path",
        ])
        #expect(both.endpoint == "https://traces.example/custom/path")
        let disabled = try tracing([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "TRUE",
        ])
        #expect(!disabled.enabled)
        #expect(error(["OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"])?.variable == "OTEL_EXPORTER_OTLP_ENDPOINT")
        #expect(
            error(["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://c/"])?.variable == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    }

    @Test("protocols: http/protobuf and http/json; grpc is refused with the reason")
    func protocols() throws {
        let json = try tracing([
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
        ])
        #expect(json.exportProtocol == .httpJSON)
        let grpc = error(["OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"])
        #expect(grpc?.variable == "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        #expect(grpc?.reason.contains("grpc is not built in") == true)
        #expect(error(["OTEL_EXPORTER_OTLP_PROTOCOL": "thrift"])?.variable == "OTEL_EXPORTER_OTLP_PROTOCOL")
    }

    @Test("samplers and their ratio")
    func samplers() throws {
        let ratio = try tracing(["OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"])
        #expect(ratio.sampler == .parentBasedTraceIDRatio(0.1))
        #expect(try tracing(["OTEL_TRACES_SAMPLER": "always_off"]).sampler == .alwaysOff)
        #expect(try tracing(["OTEL_TRACES_SAMPLER": "traceidratio"]).sampler == .traceIDRatio(1))
        #expect(error(["OTEL_TRACES_SAMPLER": "sometimes"])?.variable == "OTEL_TRACES_SAMPLER")
        for bad in ["1.5", "-0.1", "ten"] {
            #expect(
                error(["OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": bad])?.variable
                    == "OTEL_TRACES_SAMPLER_ARG")
        }
    }

    @Test("resource attributes and headers are key=value lists; malformed ones are refused")
    func lists() throws {
        let settings = try tracing([
            "OTEL_SERVICE_NAME": "accounts",
            "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=staging, service.version=1.2",
            "OTEL_EXPORTER_OTLP_HEADERS": "api-key=s%3Dcret,x-tenant=7",
        ])
        #expect(settings.serviceName == "accounts")
        #expect(settings.resourceAttributes == ["deployment.environment.name": "staging", "service.version": "1.2"])
        #expect(settings.headers.map { "\($0.0)=\($0.1)" } == ["api-key=s=cret", "x-tenant=7"])
        #expect(error(["OTEL_RESOURCE_ATTRIBUTES": "no-equals-sign"])?.variable == "OTEL_RESOURCE_ATTRIBUTES")
        #expect(error(["OTEL_EXPORTER_OTLP_HEADERS": "=value"])?.variable == "OTEL_EXPORTER_OTLP_HEADERS")
    }

    @Test("bounds: export timeout, queue, schedule delay and the shutdown deadline")
    func bounds() throws {
        let settings = try tracing([
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500", "OTEL_BSP_MAX_QUEUE_SIZE": "512", "OTEL_BSP_SCHEDULE_DELAY": "250",
            "TRACING_SHUTDOWN_TIMEOUT_MS": "0",
        ])
        #expect(settings.exportTimeout == .milliseconds(2500))
        #expect(settings.maxQueueSize == 512)
        #expect(settings.scheduleDelay == .milliseconds(250))
        #expect(settings.shutdownTimeout == .zero)
        #expect(error(["OTEL_BSP_MAX_QUEUE_SIZE": "0"])?.variable == "OTEL_BSP_MAX_QUEUE_SIZE")
        #expect(error(["TRACING_SHUTDOWN_TIMEOUT_MS": "600000"])?.variable == "TRACING_SHUTDOWN_TIMEOUT_MS")
    }

    @Test("production refuses exporter credentials sent in the clear over the network, not to a local collector")
    func productionCredentials() throws {
        let production = [
            "APP_ENV": "production", "DATABASE_URL": "postgres://app:secret@db.internal/app?sslmode=require",
            "PUBLIC_BASE_URL": "https://id.example.com", "EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.com",
            "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "secret", "SMTP_HELO_NAME": "id.example.com",
            "JWT_PRIVATE_KEY": P256.Signing.PrivateKey().pemRepresentation,
            "TRUST_PROXY_TLS": "true", "OTEL_EXPORTER_OTLP_HEADERS": "api-key=secret",
        ]
        func refusal(_ endpoint: String) -> ConfigurationError? {
            configurationError(production.merging(["OTEL_EXPORTER_OTLP_ENDPOINT": endpoint]) { $1 })
        }
        #expect(refusal("http://collector.internal:4318")?.variable == "OTEL_EXPORTER_OTLP_HEADERS")
        #expect(refusal("https://collector.internal:4318") == nil)
        #expect(refusal("http://localhost:4318") == nil)
        #expect(refusal("http://127.0.0.1:4318") == nil)
    }
}
