/// Why a login or token exchange was refused.
public enum AuthError: ProblemRepresentable, Sendable {
    /// Unknown address, wrong password, or an address not confirmed yet: the three are never
    /// told apart (401).
    case invalidCredentials
    /// The refresh token is unknown, expired, revoked or already used (401).
    case invalidRefreshToken

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
        }
    }
}
