/// An `Idempotency-Key` that cannot be honoured.
struct IdempotencyKeyError: ProblemRepresentable, Sendable {
    enum Kind: Sendable {
        case invalid
        case reused
    }

    let kind: Kind

    /// Not 1–255 visible ASCII characters, or sent more than once (400).
    static let invalid = IdempotencyKeyError(kind: .invalid)
    /// Already used, within its lifetime, for a different request (422).
    static let reused = IdempotencyKeyError(kind: .reused)

    var problem: Problem {
        switch kind {
        case .invalid:
            Problem(
                status: .badRequest, code: "invalid_idempotency_key", title: "Invalid Idempotency-Key",
                detail: "Idempotency-Key must be 1 to \(IdempotencyKey.maxLength) visible ASCII characters, sent once.")
        case .reused:
            Problem(
                status: .unprocessableContent, code: "idempotency_key_reused", title: "Idempotency-Key already used",
                detail:
                    "This Idempotency-Key was already used for a different request. Use a new key for a new request.")
        }
    }
}
