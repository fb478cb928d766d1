import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Delivers queued emails: claims due outbox rows, sends them through the transport with up
/// to `concurrency` in flight, marks them sent, and retries failures with exponential backoff
/// up to a bound, as the transport's classification of each failure says.
///
/// Delivery is at-least-once: if the process dies between sending and marking sent, the
/// claim's lease runs out and the email is sent again. The worker claims only as many emails
/// as it has free delivery slots, so on a graceful shutdown it stops claiming and finishes the
/// ones in flight (each bounded by the send timeout).
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
        health: EmailDeliveryHealth = EmailDeliveryHealth()
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
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            await transport.shutdown()
            return
        }
        await checkTransport()
        let inFlight = NIOLockedValueBox(0)
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let free = min(settings.concurrency - inFlight.withLockedValue { $0 }, settings.batchSize)
                if free > 0 && health.pauseRemaining == nil {
                    var claimed: [ClaimedEmail] = []
                    do {
                        claimed = try await claim(limit: free)
                    } catch {
                        logger.error(
                            "outbox poll failed",
                            metadata: ["event": "outbox.poll_failed", "error": "\(describe(error))"]
                        )
                    }
                    inFlight.withLockedValue { $0 += claimed.count }
                    for item in claimed {
                        group.addTask {
                            await deliver(item)
                            inFlight.withLockedValue { $0 -= 1 }
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
        await transport.shutdown()
    }

    /// Claims up to `batchSize` due emails and attempts each once, `concurrency` at a time.
    /// Returns how many were claimed. (The service's own loop claims per free slot instead.)
    @discardableResult
    public func deliverDueEmails() async throws -> Int {
        let claimed = try await claim(limit: settings.batchSize)
        for start in stride(from: 0, to: claimed.count, by: settings.concurrency) {
            await withDiscardingTaskGroup { group in
                for item in claimed[start..<min(start + settings.concurrency, claimed.count)] {
                    group.addTask { await deliver(item) }
                }
            }
        }
        return claimed.count
    }

    private func claim(limit: Int) async throws -> [ClaimedEmail] {
        let now = Date()
        return try await store.claimDueEmails(
            now: now, limit: limit, leaseUntil: now.addingTimeInterval(settings.claimLease.timeInterval))
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

    /// One attempt at one email. Never throws: a database error while recording the outcome
    /// is logged, and the claim's lease brings the email back.
    private func deliver(_ item: ClaimedEmail) async {
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
