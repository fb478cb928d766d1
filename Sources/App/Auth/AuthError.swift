/// Why a login or token exchange was refused.
public enum AuthError: Error, Sendable {
    /// Unknown address or wrong password: the two are never told apart (401).
    case invalidCredentials
    /// The password is right but the address is not verified yet (403).
    case emailNotVerified
    /// The refresh token is unknown, expired, revoked or already used (401).
    case invalidRefreshToken
}
