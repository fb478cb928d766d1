import NIOConcurrencyHelpers

/// Admission control for password hashing: a request whose hash could not finish within
/// the budget, given the work already queued, is refused at once (503 with Retry-After)
/// instead of waiting, so every answered registration or login stays within its latency
/// budget and an overload degrades into fast refusals rather than a growing queue.
///
/// The estimate for a new request is `(queued / workers + 1) × average hash time`, with the
/// average an exponentially weighted mean of measured hash times. A request is refused only
/// when every worker is busy and the estimate exceeds the budget: with a worker free,
/// refusing cannot make anything faster (and on a machine where one hash alone exceeds the
/// budget, the service still serves one hash per worker at a time).
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
        let refusal: Double? = state.withLockedValue { state in
            let estimate = (Double(state.inFlight) / Double(workers) + 1) * state.averageSeconds
            guard state.inFlight < workers || estimate <= budget.timeInterval else { return estimate }
            state.inFlight += 1
            return nil
        }
        if let estimate = refusal {
            throw HashQueueFull(retryAfter: max(1, Int(estimate.rounded(.up))))
        }
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
