/// Why a signed-in password change did not happen. Database and overload errors are not
/// wrapped here: they answer 503 as they are.
public struct PasswordChangeError: ProblemRepresentable {
    enum Kind {
        /// The current password is not the account's (403); nothing changed.
        case wrongPassword
        /// The new password breaks the policy (422).
        case invalidPassword([FieldViolation])
        /// The token's account no longer exists or is not active (401).
        case accountGone
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    var problem: Problem {
        switch kind {
        case .wrongPassword:
            Problem(
                status: .forbidden, code: "wrong_password", title: "Wrong current password",
                detail: "The current password is not right. Nothing changed.")
        case .invalidPassword(let violations):
            .validation(violations)
        case .accountGone:
            Problem(
                status: .unauthorized, code: "invalid_token", title: "Unauthorized", detail: "The account is gone.")
        }
    }
}
