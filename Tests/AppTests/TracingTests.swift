import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOPosix
import Testing

@testable import App

@Suite("Tracing (OpenTelemetry, exported over OTLP/HTTP to a real receiver)")
struct TracingTests {
    private static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    private static let callerSpan = "00f067aa0ba902b7"
    private static let verifyTraceID = "5cf92f3577b34da6a3ce929d0e0e4737"

    /// One run of the flow: a database, and the transport the email leaves through.
    struct Flow: Sendable, CustomTestStringConvertible {
        let backend: Backend
        let transport: String
        var testDescription: String { "\(backend), \(transport)" }
        /// OpenTelemetry's name for the database.
        var dbSystem: String { backend == .postgres ? "postgresql" : "sqlite" }
    }

    @Test(
        "register → email → verify: the request continues the caller's traceparent and its work is a tree of child spans; the email's delivery, child of and linked to it, is recorded with it and has the transport's span as its child; no secret in any span",
        arguments: [Flow(backend: .postgres, transport: "smtp"), Flow(backend: .sqlite, transport: "ses")])
    func registrationTrace(flow: Flow) async throws {
        let collector = try OTLPCollector.running()
        let servers = try MailServers.running()
        let service = "test-\(UUID().uuidString.prefix(8).lowercased())"
        let email = uniqueAddress("traced")
        let password = "a traced passphrase 7"
        try await TestEnvironment.with(
            flow.backend,
            configure: {
                // Only requests whose caller sampled them are recorded: the delivery must follow
                // the registration's decision, not make one of its own.
                $0.tracing = TracingSettings(
                    endpoint: collector.tracesURL, serviceName: service, sampler: .parentBasedTraceIDRatio(0))
                $0.tracing.scheduleDelay = .milliseconds(100)
            }
        ) { env in
            var configuration = env.configuration
            let inbox: @Sendable (String) async throws -> String?
            let smtp = servers.smtp(\.starttlsPort, security: .starttls)
            if flow.transport == "smtp" {
                configuration.emailTransport = .smtp(smtp)
                inbox = { try await servers.smtpMessages(to: $0).first?.text }
            } else {
                configuration.emailTransport = .ses(
                    SESSettings(
                        region: "us-east-1",
                        credentials: .fixed(AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")),
                        endpoint: URL(string: "http://127.0.0.1:\(servers.motoPort)")!))
                inbox = { try await servers.sesMessages(to: $0).first?.text }
            }
            let app = try await buildApplication(
                configuration: configuration, logger: env.logger,
                options: BuildOptions(runsOutboxWorker: true, metrics: env.metrics))
            try await app.test(.live) { client in
                let registered = try await client.register(
                    email: email, password: password, traceParent: "00-\(Self.traceID)-\(Self.callerSpan)-01")
                #expect(registered.status == .accepted)
                var text: String?
                for _ in 0..<500 where text == nil {
                    text = try await inbox(email)
                    if text == nil { try await Task.sleep(for: .milliseconds(20)) }
                }
                let token = try #require(text.flatMap(verificationToken(in:)))
                let verified = try await client.execute(
                    uri: "/v1/verify?token=\(token)", method: .get,
                    headers: [
                        .accept: "application/json",
                        HTTPField.Name("traceparent")!: "00-\(Self.verifyTraceID)-\(Self.callerSpan)-01",
                    ])
                #expect(verified.status == .ok)

                let transportSpan = flow.transport == "smtp" ? "smtp.send" : "POST"
                let spans = try await collector.spans(service: service) { spans in
                    Set(spans.map(\.name)).isSuperset(of: ["email.deliver", transportSpan, "GET /v1/verify"])
                }

                // The request continues the caller's trace.
                let request = try #require(spans.first { $0.name == "POST /v1/register" })
                #expect(request.traceID == Self.traceID)
                #expect(request.parentSpanID == Self.callerSpan)
                #expect(request.kind == 2)  // SERVER
                #expect(request.attributes["http.response.status_code"] == .int(202))
                #expect(request.attributes["http.route"] == .string("/v1/register"))

                // Its work is a tree under it: every span of it has its parent in the trace and
                // lies within the parent's time. (The delivery, also in this trace, comes later.)
                let trace = spans.filter { $0.traceID == Self.traceID }
                let delivery = try #require(spans.first { $0.name == "email.deliver" })
                let deliveryWork = trace.filter {
                    $0.spanID == delivery.spanID || ancestors(of: $0, in: trace).contains(delivery.spanID)
                }
                let requestWork = trace.filter { span in !deliveryWork.contains { $0.spanID == span.spanID } }
                expectTree(requestWork, root: request)
                let names = Set(requestWork.map(\.name))
                for name in [
                    "ratelimit.check", "password.hash", "transaction", "outbox.enqueue", "INSERT email_outbox",
                ] {
                    #expect(names.contains(name), "no \(name) span in the registration's trace")
                }
                let hash = try #require(trace.first { $0.name == "password.hash" })
                #expect(hash.attributes["password.bcrypt.cost"] == .int(4))
                #expect(hash.attributes["password.queue_wait_ms"] != nil)
                let enqueue = try #require(trace.first { $0.name == "outbox.enqueue" })
                #expect(enqueue.attributes["email.kind"] == .string("verification"))
                let insert = try #require(trace.first { $0.name == "INSERT email_outbox" })
                #expect(insert.parentSpanID == enqueue.spanID)
                #expect(insert.attributes["db.system.name"] == .string(flow.dbSystem))
                #expect(insert.attributes["db.operation.name"] == .string("INSERT"))
                #expect(insert.attributes["db.collection.name"] == .string("email_outbox"))
                let enclosing = trace.filter { ancestors(of: enqueue, in: trace).contains($0.spanID) }
                #expect(enclosing.map(\.name).contains("transaction"))
                let limits = trace.filter { $0.name == "ratelimit.check" }
                #expect(
                    Set(limits.compactMap { $0.attributes["ratelimit.rule"] }) == [
                        .string("register:ip"), .string("register:email"),
                    ])

                // The delivery is the request's child and linked to it, recorded because the
                // request was, with the transport's span (the SMTP session, or the call to the
                // provider's API) as its child.
                #expect(delivery.traceID == Self.traceID)
                #expect(delivery.parentSpanID == request.spanID)
                #expect(delivery.kind == 5)  // CONSUMER
                #expect(delivery.links.map(\.traceID) == [Self.traceID])
                #expect(delivery.links.map(\.spanID) == [request.spanID])
                #expect(delivery.attributes["email.kind"] == .string("verification"))
                let sent = try #require(spans.first { $0.name == transportSpan })
                #expect(sent.traceID == delivery.traceID)
                #expect(sent.parentSpanID == delivery.spanID)
                #expect(sent.kind == 3)  // CLIENT
                #expect(
                    sent.attributes["server.address"] == .string(flow.transport == "smtp" ? smtp.host : "127.0.0.1"))
                if flow.transport == "ses" {
                    #expect(sent.attributes["http.response.status_code"] == .int(200))
                }
                expectTree(deliveryWork, root: delivery)

                // The verification is a trace with its database work under it.
                let verify = try #require(spans.first { $0.name == "GET /v1/verify" })
                #expect(verify.traceID == Self.verifyTraceID)
                let verifyTrace = spans.filter { $0.traceID == verify.traceID }
                expectTree(verifyTrace, root: verify)
                #expect(verifyTrace.contains { $0.attributes["db.system.name"] == .string(flow.dbSystem) })

                // Log lines written while serving the registration carry its trace and a span of it.
                let traced = env.logs.lines.filter { $0.contains(#""trace_id":"\#(Self.traceID)""#) }
                #expect(!traced.isEmpty)
                let spanIDs = Set(trace.map(\.spanID))
                for line in traced {
                    let spanID = line.firstMatch(of: /"span_id":"([0-9a-f]{16})"/).map { String($0.1) }
                    #expect(spanID.map(spanIDs.contains) == true, "\(line)")
                }

                // Nothing secret or personal: not the password, an address, the link's token or a hash.
                let raw = try await collector.rawSpans(service: service)
                for secret in [password, email, token, "@", "bcrypt-sha256$", "$2b$"] {
                    #expect(!raw.contains(secret), "\(secret) in a span")
                }
            }
        }
    }

    @Test("a request the sampler leaves out records nothing: no span, no trace context in the outbox")
    func unsampledRequest() async throws {
        let collector = try OTLPCollector.running()
        let service = "test-\(UUID().uuidString.prefix(8).lowercased())"
        let unsampled = "0af7651916cd43dd8448eb211c80319c"
        try await TestEnvironment.with(
            .sqlite,
            configure: {
                $0.tracing = TracingSettings(endpoint: collector.tracesURL, serviceName: service)
                $0.tracing.scheduleDelay = .milliseconds(100)
            }
        ) { env in
            try await env.withApp(.live) { client in
                let response = try await client.register(
                    email: "unsampled@example.com", password: "a fine passphrase",
                    traceParent: "00-\(unsampled)-b7ad6b7169203331-00")
                #expect(response.status == .accepted)
                // A sampled request after it: once its span is exported, so would the other's be.
                #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
                let spans = try await collector.spans(service: service) { spans in
                    spans.contains { $0.name == "GET /health/live" }
                }
                #expect(!spans.contains { $0.traceID == unsampled })
                #expect(spans.map(\.name) == ["GET /health/live"])
            }
            // Its log lines name no trace either: there is none to find.
            let registered = env.logs.lines.filter { $0.contains(#""event":"user.registered""#) }
            #expect(registered.count == 1)
            #expect(!registered.contains { $0.contains("trace_id") || $0.contains("span_id") })
            #expect(!env.logs.lines.contains { $0.contains(unsampled) })
            #expect(try await env.count("SELECT count(*) FROM email_outbox") == 1)
            #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE trace_parent IS NOT NULL") == 0)
        }
    }

    @Test(
        "with tracing off (no endpoint) a traceparent changes nothing: no ids in the logs, none in the outbox",
        arguments: Backend.allCases)
    func tracingOff(backend: Backend) async throws {
        try await TestEnvironment.with(backend) { env in
            #expect(!env.configuration.tracing.enabled)
            try await env.withApp(.live) { client in
                let response = try await client.register(
                    email: "untraced@example.com", password: "a fine passphrase",
                    traceParent: "00-\(Self.traceID)-\(Self.callerSpan)-01")
                #expect(response.status == .accepted)
            }
            #expect(!env.logs.lines.isEmpty)
            #expect(!env.logs.lines.contains { $0.contains("trace_id") || $0.contains("span_id") })
            #expect(try await env.count("SELECT count(*) FROM email_outbox") == 1)
            #expect(try await env.count("SELECT count(*) FROM email_outbox WHERE trace_parent IS NOT NULL") == 0)
        }
    }

    @Test("shutdown exports the spans still queued")
    func shutdownFlushes() async throws {
        let collector = try OTLPCollector.running()
        let service = "test-\(UUID().uuidString.prefix(8).lowercased())"
        try await TestEnvironment.with(
            .sqlite,
            configure: {
                $0.tracing = TracingSettings(endpoint: collector.tracesURL, serviceName: service)
                // Nothing is exported on the schedule during the test: only shutdown's flush can.
                $0.tracing.scheduleDelay = .seconds(600)
            }
        ) { env in
            try await env.withApp(.live) { client in
                for _ in 0..<3 {
                    let response = try await client.execute(uri: "/health/live", method: .get)
                    #expect(response.status == .ok)
                }
            }
        }
        #expect(
            try await collector.spans(service: service).map(\.name) == Array(repeating: "GET /health/live", count: 3))
    }

    @Test("a collector that never answers cannot hold shutdown past TRACING_SHUTDOWN_TIMEOUT_MS")
    func shutdownDeadline() async throws {
        let silent = try await Self.silentListener()
        defer { silent.close(promise: nil) }
        try await TestEnvironment.with(
            .sqlite,
            configure: {
                $0.tracing = TracingSettings(
                    endpoint: "http://127.0.0.1:\(silent.localAddress!.port!)/v1/traces", serviceName: "test-deadline")
                $0.tracing.scheduleDelay = .seconds(600)
                // Each export may wait two minutes; shutdown gives the last one 100 ms.
                $0.tracing.exportTimeout = .seconds(120)
                $0.tracing.shutdownTimeout = .milliseconds(100)
            }
        ) { env in
            // Not a timing assertion: a guard against a hang, 300 times the deadline.
            let stopped = try await withTimeout(.seconds(30)) {
                try await env.withApp(.live) { client in
                    let response = try await client.execute(uri: "/health/live", method: .get)
                    #expect(response.status == .ok)
                }
                return true
            }
            #expect(stopped)
        }
    }

    @Test(
        "a collector that is down or slow changes no answer; its failures are logged at most once a minute",
        arguments: ["down", "slow"])
    func unreachableCollector(mode: String) async throws {
        // Down: a port nothing listens on. Slow: a listener that accepts and never answers.
        let silent = try await Self.silentListener()
        defer { silent.close(promise: nil) }
        let endpoint =
            mode == "down" ? "http://127.0.0.1:9/v1/traces" : "http://127.0.0.1:\(silent.localAddress!.port!)/v1/traces"
        try await TestEnvironment.with(
            .sqlite,
            configure: {
                $0.tracing = TracingSettings(endpoint: endpoint, serviceName: "test-\(mode)")
                $0.tracing.scheduleDelay = .milliseconds(50)
                $0.tracing.exportTimeout = .milliseconds(200)
            }
        ) { env in
            try await env.withApp(.live) { client in
                for index in 0..<20 {
                    #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
                    let response = try await client.register(
                        email: "r\(index)@example.com", password: "a fine passphrase")
                    #expect(response.status == .accepted)
                }
                try await Task.sleep(for: .milliseconds(600))
            }
            let warnings = env.logs.lines.filter { $0.contains(#""event":"otel.diagnostic""#) }
            #expect(!warnings.isEmpty, "a failing export is reported")
            // One line per distinct message within the minute, however many exports failed.
            let messages = warnings.map { line in
                line.firstMatch(of: /"message":"([^"]*)"/).map { String($0.1) } ?? line
            }
            #expect(Set(messages).count == messages.count)
        }
    }

    /// A TCP listener on loopback that accepts connections and never answers: a collector that
    /// hangs.
    private static func silentListener() async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in channel.eventLoop.makeSucceededVoidFuture() }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// Every span of `trace` descends from `root` through parents in `trace`, within their time.
    private func expectTree(_ trace: [OTLPCollector.Span], root: OTLPCollector.Span) {
        let byID = Dictionary(trace.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byID.count == trace.count, "span ids are unique")
        for span in trace where span.spanID != root.spanID {
            #expect(span.traceID == root.traceID)
            guard let parent = byID[span.parentSpanID] else {
                Issue.record("\(span.name): parent \(span.parentSpanID) is not in the trace")
                continue
            }
            #expect(parent.startNanoseconds <= span.startNanoseconds, "\(span.name) starts before \(parent.name)")
            #expect(span.endNanoseconds <= parent.endNanoseconds, "\(span.name) ends after \(parent.name)")
            #expect(ancestors(of: span, in: trace).contains(root.spanID), "\(span.name) is not under \(root.name)")
        }
    }

    /// The ids of `span`'s ancestors in `trace`, nearest first.
    private func ancestors(of span: OTLPCollector.Span, in trace: [OTLPCollector.Span]) -> [String] {
        let byID = Dictionary(trace.map { ($0.spanID, $0) }, uniquingKeysWith: { first, _ in first })
        var ids: [String] = []
        var current = span
        while let parent = byID[current.parentSpanID], !ids.contains(parent.spanID) {
            ids.append(parent.spanID)
            current = parent
        }
        return ids
    }
}
