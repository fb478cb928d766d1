/// Why a login or token exchange was refused.
public enum AuthError: ProblemRepresentable, Sendable {
    /// Unknown address, wrong password, or an address not confirmed yet: the three are never
    /// told apart (401).
    case invalidCredentials
    /// The refresh token is unknown, expired, revoked or already used (401).
    case invalidRefreshToken
    /// The right password for an account an administrator disabled (403). Told only to whoever
    /// knows the password, so it reveals nothing to anyone else.
    case accountDisabled

    var problem: Problem {
        switch self {
        case .invalidCredentials:
            Problem(
                status: .unauthorized, code: "invalid_credentials", title: "Invalid credentials",
                detail:
                    "The email address or the password is wrong. If you registered recently, confirm your address with the link we emailed you first."
            )
        case .invalidRefreshToken:
            Problem(
                status: .unauthorized, code: "invalid_grant", title: "Invalid refresh token",
                detail: "The refresh token is invalid, expired or revoked. Log in again.")
        case .accountDisabled:
            Problem(
                status: .forbidden, code: "account_disabled", title: "Account disabled",
                detail: "This account has been disabled by an administrator.")
        }
    }
}
