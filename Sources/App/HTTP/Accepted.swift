import Hummingbird

/// The one answer of every endpoint that must not reveal whether an address has an account
/// (register, resend, forgot): the same bytes whatever happened.
struct Accepted: ResponseEncodable {
    let status = "accepted"
    let message = "Check your inbox: we have sent an email with the next step."

    /// 202 with this body.
    static var response: EditedResponse<Accepted> {
        EditedResponse(status: .accepted, headers: [.cacheControl: "no-store"], response: Accepted())
    }

    /// 202 with this body; a replayed answer (a retry with the same `Idempotency-Key`) says so.
    static func response(_ outcome: IdempotentOutcome) -> EditedResponse<Accepted> {
        var response = Self.response
        if outcome == .replayed { response.headers[IdempotencyKey.replayedField] = "true" }
        return response
    }
}
