/// Why a verification link did not activate. Database and overload errors are not wrapped
/// here: they propagate as they are and answer 503.
public struct VerificationError: ProblemRepresentable {
    enum Kind {
        /// Malformed, tampered or unknown (400).
        case invalid
        /// Past its lifetime (410).
        case expired
        /// Another registration of the address is waiting too: the link activates only with
        /// the password chosen at its registration (409).
        case passwordRequired
        /// The password is not the one chosen at this link's registration (403).
        case passwordMismatch
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    var problem: Problem {
        switch kind {
        case .invalid:
            Problem(
                status: .badRequest, code: "invalid_token", title: "Invalid verification link",
                detail:
                    "This verification link is not valid. Check that it was copied completely, or register again to get a new one."
            )
        case .expired:
            Problem(
                status: .gone, code: "expired_token", title: "Verification link expired",
                detail: "This verification link has expired. Register again with the same address to get a new one.")
        case .passwordRequired:
            Problem(
                status: .conflict, code: "password_required", title: "Enter your password to confirm",
                detail:
                    "More than one registration is waiting for this address. To confirm it, enter the password you chose when you registered (POST the token and the password to /v1/verify)."
            )
        case .passwordMismatch:
            Problem(
                status: .forbidden, code: "password_mismatch", title: "Not the password of this registration",
                detail:
                    "This is not the password chosen at the registration this link belongs to; nothing was changed. If you did not register, ignore the email."
            )
        }
    }
}
