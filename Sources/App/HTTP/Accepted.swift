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
}
