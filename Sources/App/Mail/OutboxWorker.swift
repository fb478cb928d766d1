import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Tracing

/// Delivers queued emails: claims due outbox rows, sends them through the transport with up
/// to `concurrency` in flight, marks them sent, and retries failures with exponential backoff
/// up to a bound, as the transport's classification of each failure says.
///
/// Delivery is at-least-once: if the process dies between sending and marking sent, the
/// claim's lease runs out and the email is sent again. The lease is short and renewed while the
/// email is in flight, so a dead worker's emails are due again within one lease, never taken
/// from a live one. The worker claims only as many emails as it has free delivery slots, so on
/// a graceful shutdown it stops claiming and finishes the ones in flight (each bounded by the
/// send timeout).
public struct OutboxWorker: Service {
    let store: any OutboxStore
    let transport: any EmailTransport
    let sender: EmailAddress
    let senderName: String?
    let replyTo: EmailAddress?
    let settings: OutboxSettings
    let signal: OutboxSignal
    let gate: StartupGate
    let logger: Logger
    let metrics: ServiceMetrics
    let health: EmailDeliveryHealth
    /// Each delivery attempt is a span linked to the request that queued the email.
    let tracer: any Tracer

    public init(
        store: any OutboxStore,
        transport: any EmailTransport,
        sender: EmailAddress,
        senderName: String? = nil,
        replyTo: EmailAddress? = nil,
        settings: OutboxSettings,
        signal: OutboxSignal,
        gate: StartupGate,
        logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics(),
        health: EmailDeliveryHealth = EmailDeliveryHealth(),
        tracer: any Tracer = NoOpTracer()
    ) {
        self.store = store
        self.transport = transport
        self.sender = sender
        self.senderName = senderName
        self.replyTo = replyTo
        self.settings = settings
        self.signal = signal
        self.gate = gate
        self.logger = logger
        self.metrics = metrics
        self.health = health
        self.tracer = tracer
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            await transport.shutdown()
            return
        }
        await checkTransport()
        let claimToken = UUID()
        let inFlight = InFlightEmails()
        await withTaskGroup(of: Void.self) { renewal in
            // Keeps the short lease of every email in flight alive, so a killed instance's
            // emails are due again within one lease, while a slow send is never taken over.
            renewal.addTask { await renewLeases(of: inFlight, claimToken: claimToken) }
            await withDiscardingTaskGroup { group in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    let free = min(settings.concurrency - inFlight.count, settings.batchSize)
                    if free > 0 && health.pauseRemaining == nil {
                        var claimed: [ClaimedEmail] = []
                        do {
                            claimed = try await claim(limit: free, claimToken: claimToken)
                        } catch {
                            logger.error(
                                "outbox poll failed",
                                metadata: ["event": "outbox.poll_failed", "error": "\(describe(error))"]
                            )
                        }
                        for item in claimed {
                            inFlight.insert(item.email.id)
                            group.addTask {
                                await deliver(item)
                                inFlight.remove(item.email.id)
                                signal.notify()
                            }
                        }
                        // A full claim means more may be due: claim again while slots are free.
                        if claimed.count == free { continue }
                    }
                    let wait = health.pauseRemaining.map { min($0, settings.pollInterval.timeInterval) }
                    await cancelWhenGracefulShutdown {
                        await signal.wait(
                            timeout: wait.map { .milliseconds(Int64($0 * 1000) + 1) } ?? settings.pollInterval)
                    }
                }
            }
            renewal.cancelAll()
        }
        await transport.shutdown()
    }

    /// Every `claimLease / 3`, extends the lease of the emails in flight by `claimLease`,
    /// until cancelled. A failed renewal is logged; the next one tries again.
    private func renewLeases(of inFlight: InFlightEmails, claimToken: UUID) async {
        let interval = settings.claimLease / 3
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let ids = inFlight.ids
            guard !ids.isEmpty else { continue }
            do {
                try await store.renewClaims(
                    ids: ids, claimToken: claimToken,
                    leaseUntil: Date().addingTimeInterval(settings.claimLease.timeInterval))
            } catch {
                logger.warning(
                    "could not renew the leases of emails in flight",
                    metadata: ["event": "outbox.lease_renewal_failed", "error": "\(describe(error))"]
                )
            }
        }
    }

    /// Claims up to `batchSize` due emails and attempts each once, `concurrency` at a time.
    /// Returns how many were claimed. (The service's own loop claims per free slot instead.)
    @discardableResult
    public func deliverDueEmails() async throws -> Int {
        let claimed = try await claim(limit: settings.batchSize, claimToken: UUID())
        for start in stride(from: 0, to: claimed.count, by: settings.concurrency) {
            await withDiscardingTaskGroup { group in
                for item in claimed[start..<min(start + settings.concurrency, claimed.count)] {
                    group.addTask { await deliver(item) }
                }
            }
        }
        return claimed.count
    }

    private func claim(limit: Int, claimToken: UUID) async throws -> [ClaimedEmail] {
        let now = Date()
        return try await store.claimDueEmails(
            now: now, limit: limit, leaseUntil: now.addingTimeInterval(settings.claimLease.timeInterval),
            claimToken: claimToken)
    }

    /// The start-up check: logs whether the provider can be reached with these settings. A
    /// provider that is down does not stop the service: the outbox keeps the emails.
    private func checkTransport() async {
        do {
            let transport = self.transport
            try await withTimeout(settings.sendTimeout) { try await transport.check() }
            logger.info(
                "email transport ready", metadata: ["event": "email.transport_ready", "transport": "\(transport.name)"])
        } catch {
            let failure = classify(error)
            if failure.kind == .configuration {
                health.recordConfigurationFailure(
                    failure.safeDescription, transport: transport.name, logger: logger, metrics: metrics)
            } else {
                logger.warning(
                    "email transport check failed; emails stay queued and are retried",
                    metadata: [
                        "event": "email.transport_unavailable", "transport": "\(transport.name)",
                        "error": "\(failure.safeDescription)",
                    ]
                )
            }
        }
    }

    /// One attempt at one email, as a span linked to the request that queued it.
    ///
    /// When that request was recorded, the span is also its child: the sampler then follows the
    /// request's decision (a new trace would be sampled afresh, so at 10% a traced
    /// registration's email would be traced one time in ten), and the delivery, with each
    /// retry, appears in the registration's trace. Other emails start a trace of their own.
    private func deliver(_ item: ClaimedEmail) async {
        let email = item.email
        let queuedBy = email.traceParent.map { TraceParent.context($0, tracer: tracer) }
        await tracer.withSpan("email.deliver", context: queuedBy ?? .topLevel, ofKind: .consumer) { span in
            if let queuedBy { span.addLink(SpanLink(context: queuedBy, attributes: [:])) }
            span.attributes["email.id"] = email.id.lowercased
            span.attributes["email.kind"] = email.kind
            span.attributes["email.transport"] = transport.name
            span.attributes["email.attempt"] = item.attempt
            let work = span.isRecording ? Spans.Work(tracer: tracer, request: nil) : nil
            await Spans.$work.withValue(work) { await attempt(item) }
        }
    }

    /// One attempt at one email. Never throws: a database error while recording the outcome
    /// is logged, and the claim's lease brings the email back.
    private func attempt(_ item: ClaimedEmail) async {
        let email = item.email
        var logger = self.logger
        if let requestID = email.requestID { logger[metadataKey: "request_id"] = "\(requestID)" }
        let message = EmailMessage(
            id: email.id,
            from: sender,
            fromName: senderName,
            replyTo: replyTo,
            to: email.recipient,
            subject: email.subject,
            textBody: email.textBody,
            htmlBody: email.htmlBody,
            date: email.createdAt
        )
        var fields: Logger.Metadata = [
            "email_id": "\(email.id.lowercased)", "kind": "\(email.kind)", "transport": "\(transport.name)",
            "attempt": "\(item.attempt)",
        ]
        do {
            do {
                let transport = self.transport
                try await withTimeout(settings.sendTimeout) { try await transport.send(message) }
            } catch {
                try await recordFailure(classify(error), of: item, fields: &fields, logger: logger)
                return
            }
            health.recordDelivery(transport: transport.name, logger: logger, metrics: metrics)
            try await store.markSent(id: email.id, at: Date())
            metrics.email(transport: transport.name, outcome: "sent")
            fields["event"] = "email.sent"
            logger.info("email sent", metadata: fields)
        } catch {
            fields["event"] = "outbox.update_failed"
            fields["error"] = "\(describe(error))"
            logger.error(
                "could not record the outcome of a delivery; the email's lease will bring it back", metadata: fields)
        }
    }

    private func recordFailure(
        _ failure: EmailDeliveryError, of item: ClaimedEmail, fields: inout Logger.Metadata, logger: Logger
    ) async throws {
        let id = item.email.id
        fields["error"] = "\(failure.safeDescription)"
        fields["failure"] = "\(failure.kind.rawValue)"
        if failure.kind == .configuration {
            // Not this email's fault: its attempt is given back, and it waits for the fix.
            health.recordConfigurationFailure(
                failure.safeDescription, transport: transport.name, logger: logger, metrics: metrics)
            let delay = max(failure.retryAfter ?? .zero, retryDelay(afterAttempt: 1), .seconds(Int64(health.pause)))
            try await store.scheduleRetry(
                id: id, at: Date().addingTimeInterval(delay.timeInterval), error: failure.safeDescription,
                countsAsAttempt: false)
            metrics.email(transport: transport.name, outcome: "retry")
        } else if failure.kind == .permanent || item.attempt >= settings.maxAttempts {
            try await store.markFailed(id: id, at: Date(), error: failure.safeDescription)
            metrics.email(transport: transport.name, outcome: "failed")
            fields["event"] = "email.failed"
            logger.error("email failed permanently", metadata: fields)
        } else {
            let delay = max(failure.retryAfter ?? .zero, retryDelay(afterAttempt: item.attempt))
            try await store.scheduleRetry(
                id: id, at: Date().addingTimeInterval(delay.timeInterval), error: failure.safeDescription)
            metrics.email(transport: transport.name, outcome: "retry")
            fields["event"] = "email.retry_scheduled"
            fields["retry_in_ms"] = "\(Int64(delay.timeInterval * 1000))"
            logger.warning("email delivery failed, will retry", metadata: fields)
        }
    }

    /// Base delay doubled per attempt, capped.
    func retryDelay(afterAttempt attempt: Int) -> Duration {
        let base = settings.retryBaseDelay.timeInterval
        let delay = base * pow(2, Double(max(0, min(attempt - 1, 30))))
        return .milliseconds(Int64(min(delay, settings.retryMaxDelay.timeInterval) * 1000))
    }

    /// What the outbox should do about `error`: transports classify their own failures; a
    /// timeout or anything unforeseen is transient.
    private func classify(_ error: any Error) -> EmailDeliveryError {
        switch error {
        case let failure as EmailDeliveryError: failure
        case is TimeoutError:
            EmailDeliveryError(.transient, "no answer within EMAIL_SEND_TIMEOUT_MS (\(settings.sendTimeout))")
        default: EmailDeliveryError(.transient, describe(error))
        }
    }

    private func describe(_ error: any Error) -> String {
        if let described = error as? any EmailTransportFailure { return described.safeDescription }
        if let unavailable = error as? DatabaseUnavailable { return "database unavailable: \(unavailable)" }
        return String(reflecting: type(of: error))
    }
}

/// The emails a worker is delivering right now (an id may be in flight twice if its lease ran
/// out and the same worker claimed it again).
final class InFlightEmails: Sendable {
    private let state = NIOLockedValueBox([UUID: Int]())

    var count: Int { state.withLockedValue { $0.values.reduce(0, +) } }
    var ids: [UUID] { state.withLockedValue { Array($0.keys) } }

    func insert(_ id: UUID) { state.withLockedValue { $0[id, default: 0] += 1 } }

    func remove(_ id: UUID) {
        state.withLockedValue { state in
            if let count = state[id], count > 1 { state[id] = count - 1 } else { state[id] = nil }
        }
    }
}

/// A transport error whose description is known to contain no message content, so it may be
/// stored and logged as the reason a delivery failed.
public protocol EmailTransportFailure: Error {
    var safeDescription: String { get }
}

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
