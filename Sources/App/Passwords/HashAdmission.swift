import NIOConcurrencyHelpers

/// Admission control for password hashing: a request whose hash could not finish within
/// the budget, given the work already queued, is refused at once (503 with Retry-After)
/// instead of waiting, so every answered registration or login stays within its latency
/// budget and an overload degrades into fast refusals rather than a growing queue.
///
/// With every worker busy, a new hash starts once the hashes waiting ahead of it and one
/// more have finished; the workers finish one every `average ÷ workers` on average. The
/// estimate for a new request is therefore `((waiting + 1) / workers + 1) × average`, where
/// `waiting` counts admitted hashes not yet running and `average` is an exponentially
/// weighted mean of measured hash times. A request is refused only when every worker is
/// busy and the estimate exceeds the budget: with a worker free, refusing cannot make
/// anything faster (and on a machine where one hash alone exceeds the budget, the service
/// still serves one hash per worker at a time).
final class HashAdmission: Sendable {
    private struct State {
        var inFlight = 0
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
    func admit() throws(HashQueueFull) {
        let refused: Double? = state.withLockedValue { state in
            if let estimate = self.refusal(state) { return estimate }
            state.inFlight += 1
            return nil
        }
        if let estimate = refused { throw HashQueueFull(retryAfter: Self.retryAfter(estimate)) }
    }

    /// Throws what `admit()` would throw now, without reserving: lets a request that would be
    /// refused be refused before it does any other work (rate-limit counters, database).
    func check() throws(HashQueueFull) {
        if let estimate = state.withLockedValue({ refusal($0) }) {
            throw HashQueueFull(retryAfter: Self.retryAfter(estimate))
        }
    }

    /// The estimated time to finish a new hash, when it exceeds the budget with every worker busy.
    private func refusal(_ state: State) -> Double? {
        guard state.inFlight >= workers else { return nil }
        let waiting = Double(state.inFlight - workers)
        let estimate = ((waiting + 1) / Double(workers) + 1) * state.averageSeconds
        return estimate > budget.timeInterval ? estimate : nil
    }

    private static func retryAfter(_ estimate: Double) -> Int {
        max(1, Int(estimate.rounded(.up)))
    }

    /// Releases the place and learns from the measured time.
    func finished(after duration: Duration) {
        state.withLockedValue { state in
            state.inFlight = max(0, state.inFlight - 1)
            state.averageSeconds = 0.8 * state.averageSeconds + 0.2 * duration.timeInterval
        }
    }

    /// Releases a place whose hash never ran.
    func abandoned() {
        state.withLockedValue { $0.inFlight = max(0, $0.inFlight - 1) }
    }

    var queued: Int { state.withLockedValue { $0.inFlight } }
    var averageHashTime: Double { state.withLockedValue { $0.averageSeconds } }
}

/// Too much password hashing is already queued: answered 503 with `Retry-After`.
public struct HashQueueFull: Error, Sendable {
    public let retryAfter: Int
}
