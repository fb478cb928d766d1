import NIOConcurrencyHelpers

/// Admission control for password hashing: a request whose hash could not finish within
/// the budget, given the work already running and queued, is refused (503 with Retry-After)
/// instead of waiting, so every answered registration or login stays within its latency
/// budget and an overload degrades into fast refusals rather than a growing queue.
///
/// The estimate for a new request is when its hash would start plus the average hash time
/// (an exponentially weighted mean of measured times). With every worker busy it starts
/// when the hashes waiting ahead of it, and one more, have finished; each worker finishes
/// its running hash after the average minus the time it has been running, then one hash
/// per average. Counting how long the running hashes have run (not only how many there
/// are) keeps the workers fed, since a request is admitted as soon as it would be on time,
/// and keeps each admitted one within the budget. A request is refused only when every
/// worker is busy: with a worker free, refusing cannot make anything faster (and on a
/// machine where one hash alone exceeds the budget, the service still serves one hash per
/// worker at a time).
final class HashAdmission: Sendable {
    private struct State {
        /// Admitted and not finished: running or waiting for a worker.
        var inFlight = 0
        /// When each running hash started.
        var running: [ContinuousClock.Instant] = []
        var averageSeconds: Double
    }

    let workers: Int
    let budget: Duration
    private let state: NIOLockedValueBox<State>

    /// - Parameters:
    ///   - workers: threads hashing in parallel.
    ///   - budget: longest acceptable wait plus hash for one request.
    ///   - initialAverage: the hash time assumed until one is measured.
    init(workers: Int, budget: Duration, initialAverage: Duration = .milliseconds(1)) {
        self.workers = max(1, workers)
        self.budget = budget
        self.state = NIOLockedValueBox(State(averageSeconds: initialAverage.timeInterval))
    }

    /// Reserves a place for one hash, or throws when it would not finish within the budget.
    func admit(now: ContinuousClock.Instant = .now) throws(HashQueueFull) {
        let refused: Double? = state.withLockedValue { state in
            if let estimate = self.refusal(state, now: now) { return estimate }
            state.inFlight += 1
            return nil
        }
        if let estimate = refused { throw HashQueueFull(retryAfter: Self.retryAfter(estimate)) }
    }

    /// Throws what `admit()` would throw now, without reserving: lets a request that would be
    /// refused be refused before it does any other work (rate-limit counters, database).
    func check(now: ContinuousClock.Instant = .now) throws(HashQueueFull) {
        if let estimate = state.withLockedValue({ refusal($0, now: now) }) {
            throw HashQueueFull(retryAfter: Self.retryAfter(estimate))
        }
    }

    /// An admitted hash has started on a worker; pass the result to `finished`.
    func started(at instant: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
        state.withLockedValue { $0.running.append(instant) }
        return instant
    }

    /// Releases the place of a hash that started at `start` and learns from its duration.
    func finished(startedAt start: ContinuousClock.Instant, after duration: Duration) {
        state.withLockedValue { state in
            state.inFlight = max(0, state.inFlight - 1)
            if let index = state.running.firstIndex(of: start) { state.running.remove(at: index) }
            state.averageSeconds = 0.8 * state.averageSeconds + 0.2 * duration.timeInterval
        }
    }

    /// Releases a place whose hash never ran.
    func abandoned() {
        state.withLockedValue { $0.inFlight = max(0, $0.inFlight - 1) }
    }

    /// The estimated time to finish a new hash, when it exceeds the budget with every worker busy.
    private func refusal(_ state: State, now: ContinuousClock.Instant) -> Double? {
        guard state.inFlight >= workers else { return nil }
        let average = state.averageSeconds
        // When each worker frees up: running hashes after their remaining time; admitted ones
        // that have not reached a worker yet count as just started.
        var free = state.running.prefix(workers).map { max(0, average - (now - $0).timeInterval) }
        free += Array(repeating: average, count: max(0, workers - free.count))
        free.sort()
        let ahead = state.inFlight - workers  // admitted, waiting for a worker
        let start = free[ahead % workers] + Double(ahead / workers) * average
        let estimate = start + average
        return estimate > budget.timeInterval ? estimate : nil
    }

    private static func retryAfter(_ estimate: Double) -> Int {
        max(1, Int(estimate.rounded(.up)))
    }

    var queued: Int { state.withLockedValue { $0.inFlight } }
    var averageHashTime: Double { state.withLockedValue { $0.averageSeconds } }
}

/// Too much password hashing is already queued: answered 503 with `Retry-After`.
public struct HashQueueFull: Error, Sendable {
    public let retryAfter: Int
}
