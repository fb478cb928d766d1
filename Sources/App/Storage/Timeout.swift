import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The operation did not finish in time.
struct TimeoutError: Error {}

/// Runs `operation`, cancelling it and throwing `TimeoutError` when it takes longer than `limit`.
///
/// The deadline is a task scheduled on an event loop, cancelled as soon as the operation ends.
/// (Racing the operation against `Task.sleep` in a task group would be simpler, but a cancelled
/// `Task.sleep` keeps its timer, and the memory behind it, until the deadline would have passed:
/// with a 10 s body deadline at thousands of requests a second that held ~100 MB.)
func withTimeout<Result: Sendable>(
    _ limit: Duration,
    on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let task = Task { try await operation() }
    let timedOut = NIOLockedValueBox(false)
    let deadline = eventLoop.scheduleTask(in: TimeAmount(limit)) {
        timedOut.withLockedValue { $0 = true }
        task.cancel()
    }
    defer { deadline.cancel() }
    return try await withTaskCancellationHandler {
        do {
            return try await task.value
        } catch {
            if timedOut.withLockedValue({ $0 }) { throw TimeoutError() }
            throw error
        }
    } onCancel: {
        task.cancel()
    }
}

extension TimeAmount {
    /// The same span in NIO's unit (negative spans become zero).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}

/// Runs `operation` and returns its result, or throws `TimeoutError` once `limit` has passed,
/// whether or not the operation has ended by then: it is cancelled and left to finish alone.
///
/// For database calls, where `withTimeout` would not do: PostgresNIO's queries do not end when
/// their task is cancelled, so against a frozen database waiting for the cancelled operation
/// would wait for the whole outage. A transaction abandoned this way is rolled back, never
/// committed later (`PostgresAccountStore.withTransaction` checks for cancellation before
/// COMMIT); a single statement may still run when the database returns.
func withDeadline<Result: Sendable>(
    _ limit: Duration,
    on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let task = Task { try await operation() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Result, any Error>) in
            let pending = NIOLockedValueBox<CheckedContinuation<Result, any Error>?>(continuation)
            let take: @Sendable () -> CheckedContinuation<Result, any Error>? = {
                pending.withLockedValue { value in
                    defer { value = nil }
                    return value
                }
            }
            let deadline = eventLoop.scheduleTask(in: TimeAmount(limit)) {
                task.cancel()
                take()?.resume(throwing: TimeoutError())
            }
            Task {
                let result = await task.result
                deadline.cancel()
                take()?.resume(with: result)
            }
        }
    } onCancel: {
        task.cancel()
    }
}
