import Foundation
import Logging
import ServiceLifecycle

/// Deletes what no rule needs any more, periodically: rate-limit counters of windows that
/// ended long ago. Each instance runs it; the deletes are idempotent.
struct Housekeeping: Service {
    let rateLimits: any RateLimitStore
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

    func sweep(now: Date = Date()) async {
        do {
            try await rateLimits.purge(before: now.addingTimeInterval(-2 * window.timeInterval))
        } catch {
            logger.warning(
                "housekeeping failed", metadata: ["event": "housekeeping.failed", "error": "\(type(of: error))"])
        }
    }
}
