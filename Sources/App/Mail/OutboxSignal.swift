import NIOConcurrencyHelpers

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
    /// `timeout`, or when the calling task is cancelled, whichever is first.
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForNotification() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForNotification() async {
        let id = state.withLockedValue { state -> UInt64 in
            state.lastID &+= 1
            return state.lastID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLockedValue { state -> Bool in
                    if state.notified {
                        state.notified = false
                        return true
                    }
                    // Cancelled before the handler below could see this waiter: do not park.
                    if Task.isCancelled { return true }
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume()
        }
    }
}
