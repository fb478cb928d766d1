import NIOConcurrencyHelpers
import Testing

@testable import App

/// The wake-up of the outbox worker. A wait must end on a notification, and only then (or at
/// its timeout): an earlier version ended every wait at once after the first timed-out one,
/// which turned the worker into a busy loop polling the database.
@Suite struct OutboxSignalTests {
    @Test func aWaitAfterATimedOutWaitStillWaitsForTheNotification() async {
        let signal = OutboxSignal()
        await signal.wait(timeout: .milliseconds(1))  // times out: nothing was notified
        await signal.wait(timeout: .milliseconds(1))

        let notified = NIOLockedValueBox(false)
        let waiter = Task {
            await signal.wait(timeout: .seconds(3600))
            return notified.withLockedValue { $0 }
        }
        // Gives the waiter time to park; if it returned without a notification, it saw `false`.
        try? await Task.sleep(for: .milliseconds(100))
        notified.withLockedValue { $0 = true }
        signal.notify()
        let sawNotification = await waiter.value
        #expect(sawNotification)
    }

    @Test func aNotificationWithoutAWaiterIsKeptForTheNextWait() async {
        let signal = OutboxSignal()
        signal.notify()
        signal.notify()  // kept once, not counted
        let first = Task { await signal.wait(timeout: .seconds(3600)) }
        await first.value  // returns because of the kept notification

        let notified = NIOLockedValueBox(false)
        let second = Task {
            await signal.wait(timeout: .seconds(3600))
            return notified.withLockedValue { $0 }
        }
        try? await Task.sleep(for: .milliseconds(100))
        notified.withLockedValue { $0 = true }
        signal.notify()
        let sawNotification = await second.value
        #expect(sawNotification)
    }

    @Test func cancellingAWaitEndsIt() async {
        let signal = OutboxSignal()
        let waiter = Task { await signal.wait(timeout: .seconds(3600)) }
        waiter.cancel()
        await waiter.value
        // The signal still works for the next waiter.
        signal.notify()
        await signal.wait(timeout: .seconds(3600))
    }
}
