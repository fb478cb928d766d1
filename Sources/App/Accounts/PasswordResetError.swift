/// Why a password reset did not happen. Database and overload errors are not wrapped here:
/// they propagate as they are and answer 503.
public struct PasswordResetError: ProblemRepresentable {
    enum Kind {
        /// Malformed, tampered or unknown token (400).
        case invalid
        /// Already used (410).
        case used
        /// Past its lifetime (410).
        case expired
        /// The new password breaks the policy (422).
        case invalidPassword([FieldViolation])
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    var problem: Problem {
        switch kind {
        case .invalid:
            Problem(
                status: .badRequest, code: "invalid_token", title: "Invalid reset link",
                detail: "This password reset link is not valid. Ask for a new one.")
        case .used:
            Problem(
                status: .gone, code: "used_token", title: "Reset link already used",
                detail: "This password reset link was already used. Ask for a new one if you need to.")
        case .expired:
            Problem(
                status: .gone, code: "expired_token", title: "Reset link expired",
                detail: "This password reset link has expired. Ask for a new one.")
        case .invalidPassword(let violations):
            .validation(violations)
        }
    }
}
