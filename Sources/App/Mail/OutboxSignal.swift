import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Wakes the outbox worker as soon as a transaction has queued an email, so delivery does
/// not wait for the next poll. Only an optimisation: the worker also polls, which is what
/// picks up emails queued by other instances.
///
/// A notification given while nobody waits is kept (one, not a count), so an email queued
/// while the worker is busy sending is picked up by its next wait at once.
public final class OutboxSignal: Sendable {
    private struct State {
        var notified = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var lastID: UInt64 = 0
        /// A wait released (timed out or cancelled) before it had parked.
        var releasedID: UInt64?
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    public func notify() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.notified = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }

    /// Returns after a notification (or at once if one came since the last wait), after
    /// `timeout`, or when the calling task is cancelled, whichever is first. The timeout is a
    /// task scheduled on an event loop, as in `withTimeout` (a cancelled `Task.sleep` would hold
    /// its memory until its deadline).
    public func wait(
        timeout: Duration, on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    )
        async
    {
        let id = state.withLockedValue { state -> UInt64 in
            state.lastID &+= 1
            return state.lastID
        }
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) { self.release(id) }
        defer { deadline.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.notified {
                        state.notified = false
                        return true
                    }
                    // Timed out or cancelled before it could park: do not park.
                    if state.releasedID == id || Task.isCancelled { return true }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            release(id)
        }
    }

    /// Resumes the waiter `id` if it is still parked (its timeout, or its task's cancellation).
    private func release(_ id: UInt64) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter, waiter.id == id else {
                state.releasedID = id
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume()
    }
}
