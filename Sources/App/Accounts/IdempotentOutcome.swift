/// Whether a request that sends email did its work now, or was a retry (same `Idempotency-Key`,
/// same request) of one whose work is already committed.
public enum IdempotentOutcome: Sendable, Equatable {
    case performed
    case replayed
}
