import Foundation
import Logging
import ServiceLifecycle

/// Resolves the resend and forgot requests the endpoints recorded (`EmailRequest`): looks at
/// the address and queues whatever email it deserves (a new verification link, a reset link,
/// or nothing), each request in one transaction that also deletes it, so a request is
/// resolved exactly once even with many instances or a crash in between.
///
/// The endpoints answer after one identical insert whatever the address; the work that
/// depends on the address happens here, off the request path, where its duration tells a
/// client nothing.
public struct EmailRequestResolver: Service {
    let store: any AccountStore
    let registration: RegistrationService
    let resets: PasswordResetService
    /// Woken by the endpoints.
    let requests: OutboxSignal
    /// Wakes the outbox worker when an email was queued.
    let outbox: OutboxSignal
    let pollInterval: Duration
    let gate: StartupGate
    let logger: Logger

    public init(
        store: any AccountStore, registration: RegistrationService, resets: PasswordResetService,
        requests: OutboxSignal, outbox: OutboxSignal, pollInterval: Duration, gate: StartupGate, logger: Logger
    ) {
        self.store = store
        self.registration = registration
        self.resets = resets
        self.requests = requests
        self.outbox = outbox
        self.pollInterval = pollInterval
        self.gate = gate
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await resolvePending()
            } catch {
                logger.error(
                    "email requests could not be resolved; they stay recorded and are retried",
                    metadata: ["event": "email_request.failed", "error": "\(String(reflecting: type(of: error)))"])
            }
            await cancelWhenGracefulShutdown { await requests.wait(timeout: pollInterval) }
        }
    }

    /// Resolves recorded requests, oldest first, until none is left; returns how many.
    @discardableResult
    public func resolvePending() async throws -> Int {
        var resolved = 0
        while !Task.isCancelled, try await resolveOne() { resolved += 1 }
        return resolved
    }

    private func resolveOne() async throws -> Bool {
        let now = Date()
        let result = try await store.withTransaction { transaction -> (EmailRequest, String)? in
            guard let request = try await transaction.takeEmailRequest() else { return nil }
            // Validated by the endpoint; a row that no longer parses is dropped, not retried.
            guard let email = EmailAddress(request.email) else { return (request, "invalid") }
            switch request.kind {
            case .resend:
                return (
                    request,
                    try await registration.queueVerificationLink(
                        in: transaction, to: email, now: now, requestID: request.requestID)
                )
            case .forgot:
                return (
                    request,
                    try await resets.resolveForgot(
                        in: transaction, email: email, now: now, requestID: request.requestID)
                )
            }
        }
        guard let (request, outcome) = result else { return false }
        if outcome.hasSuffix("sent") { outbox.notify() }
        var logger = self.logger
        if let requestID = request.requestID { logger[metadataKey: "request_id"] = "\(requestID)" }
        switch request.kind {
        case .resend:
            logger.info(
                "verification resend", metadata: ["event": "user.verification_resend", "outcome": "\(outcome)"])
        case .forgot:
            logger.info(
                "password reset requested",
                metadata: ["event": "user.password_reset_resolved", "outcome": "\(outcome)"])
        }
        return true
    }
}
