import Foundation
import Logging
import ServiceLifecycle

/// Delivers queued emails: claims due outbox rows, sends them through the transport,
/// marks them sent, and retries failures with exponential backoff up to a bound.
///
/// Delivery is at-least-once: if the process dies between sending and marking sent, the
/// claim's lease runs out and the email is sent again. On a graceful shutdown the worker
/// finishes the email it is sending and hands the rest of its batch back.
public struct OutboxWorker: Service {
    let store: any OutboxStore
    let transport: any EmailTransport
    let sender: EmailAddress
    let settings: OutboxSettings
    let signal: OutboxSignal
    let gate: StartupGate
    let logger: Logger
    let metrics: ServiceMetrics

    public init(
        store: any OutboxStore,
        transport: any EmailTransport,
        sender: EmailAddress,
        settings: OutboxSettings,
        signal: OutboxSignal,
        gate: StartupGate,
        logger: Logger,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.store = store
        self.transport = transport
        self.sender = sender
        self.settings = settings
        self.signal = signal
        self.gate = gate
        self.logger = logger
        self.metrics = metrics
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var claimedFullBatch = false
            do {
                claimedFullBatch = try await deliverDueEmails() == settings.batchSize
            } catch {
                logger.error(
                    "outbox poll failed",
                    metadata: ["event": "outbox.poll_failed", "error": "\(String(reflecting: type(of: error)))"]
                )
            }
            if claimedFullBatch { continue }
            await cancelWhenGracefulShutdown { await waitForWork() }
        }
    }

    /// Claims one batch of due emails and attempts each once. Returns how many were claimed.
    @discardableResult
    public func deliverDueEmails() async throws -> Int {
        let now = Date()
        let claimed = try await store.claimDueEmails(
            now: now,
            limit: settings.batchSize,
            leaseUntil: now.addingTimeInterval(settings.claimLease.timeInterval)
        )
        for (index, item) in claimed.enumerated() {
            if Task.isShuttingDownGracefully || Task.isCancelled {
                for rest in claimed[index...] {
                    try? await store.releaseClaim(id: rest.email.id, now: Date())
                }
                break
            }
            try await deliver(item)
        }
        return claimed.count
    }

    private func deliver(_ item: ClaimedEmail) async throws {
        let email = item.email
        var logger = self.logger
        if let requestID = email.requestID { logger[metadataKey: "request_id"] = "\(requestID)" }
        let message = EmailMessage(
            from: sender,
            to: email.recipient,
            subject: email.subject,
            textBody: email.textBody,
            htmlBody: email.htmlBody
        )
        do {
            try await transport.send(message)
        } catch {
            // Only the error's type goes to the database and logs: a transport's message could
            // quote the email, and the email carries a one-time link.
            let reason = describe(error)
            if item.attempt >= settings.maxAttempts {
                try await store.markFailed(id: email.id, at: Date(), error: reason)
                metrics.email(transport: transport.name, outcome: "failed")
                logger.error(
                    "email failed permanently",
                    metadata: [
                        "event": "email.failed", "email_id": "\(email.id.lowercased)", "kind": "\(email.kind)",
                        "transport": "\(transport.name)", "attempt": "\(item.attempt)", "error": "\(reason)",
                    ]
                )
            } else {
                let retryAt = Date().addingTimeInterval(retryDelay(afterAttempt: item.attempt).timeInterval)
                try await store.scheduleRetry(id: email.id, at: retryAt, error: reason)
                metrics.email(transport: transport.name, outcome: "retry")
                logger.warning(
                    "email delivery failed, will retry",
                    metadata: [
                        "event": "email.retry_scheduled", "email_id": "\(email.id.lowercased)", "kind": "\(email.kind)",
                        "transport": "\(transport.name)", "attempt": "\(item.attempt)", "error": "\(reason)",
                    ]
                )
            }
            return
        }
        try await store.markSent(id: email.id, at: Date())
        metrics.email(transport: transport.name, outcome: "sent")
        logger.info(
            "email sent",
            metadata: [
                "event": "email.sent", "email_id": "\(email.id.lowercased)", "kind": "\(email.kind)",
                "transport": "\(transport.name)", "attempt": "\(item.attempt)",
            ]
        )
    }

    /// Base delay doubled per attempt, capped.
    func retryDelay(afterAttempt attempt: Int) -> Duration {
        let base = settings.retryBaseDelay.timeInterval
        let delay = base * pow(2, Double(max(0, min(attempt - 1, 30))))
        return .milliseconds(Int64(min(delay, settings.retryMaxDelay.timeInterval) * 1000))
    }

    private func describe(_ error: any Error) -> String {
        if let described = error as? any EmailTransportFailure { return described.safeDescription }
        return String(reflecting: type(of: error))
    }

    private func waitForWork() async {
        await signal.wait(timeout: settings.pollInterval)
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
