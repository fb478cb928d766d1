/// Why a change of address did not happen. Database and overload errors are not wrapped here:
/// they answer 503 as they are.
public struct EmailChangeError: ProblemRepresentable {
    enum Kind {
        /// The new address is the account's own (422).
        case sameAddress
        /// Malformed, unknown, or superseded (a newer request, or the address changed since) (400).
        case invalid
        /// Past its lifetime, or already used (410).
        case expired
        /// Another account took the new address after the link was sent (409); nothing changed.
        case addressTaken
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    var problem: Problem {
        switch kind {
        case .sameAddress:
            .validation([
                FieldViolation(
                    field: "new_email", rule: "different", detail: "This is already the account's address.")
            ])
        case .invalid:
            Problem(
                status: .badRequest, code: "invalid_token", title: "Invalid confirmation link",
                detail:
                    "This link is not valid: check that it was copied completely. Only the latest change requested for an account can be confirmed."
            )
        case .expired:
            Problem(
                status: .gone, code: "expired_token", title: "Confirmation link expired or used",
                detail: "This link has expired or was already used. Ask for the change again while signed in.")
        case .addressTaken:
            Problem(
                status: .conflict, code: "email_taken", title: "Address already in use",
                detail: "Another account has this address now, so the change did not happen.")
        }
    }
}
