import Foundation
import Logging
import ServiceLifecycle

/// Deletes what no rule needs any more, periodically: rate-limit counters of windows that
/// ended long ago, expired idempotency keys. Each instance runs it; the deletes are
/// idempotent, and keys go in batches so no statement holds many locks.
struct Housekeeping: Service {
    let rateLimits: any RateLimitStore
    let accounts: any AccountStore
    let window: Duration
    let interval: Duration
    let gate: StartupGate
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    static let batchSize = 1000

    func sweep(now: Date = Date()) async {
        do {
            try await rateLimits.purge(before: now.addingTimeInterval(-2 * window.timeInterval))
            while try await accounts.withTransaction({
                try await $0.deleteExpiredIdempotencyKeys(before: now, limit: Self.batchSize)
            }) == Self.batchSize, !Task.isCancelled {}
        } catch {
            logger.warning(
                "housekeeping failed", metadata: ["event": "housekeeping.failed", "error": "\(type(of: error))"])
        }
    }
}
