/// What a login or a refresh hands out.
public struct TokenPair: Sendable {
    public let accessToken: String
    public let expiresIn: Int
    /// Opaque; the server keeps only its hash. Never log it.
    public let refreshToken: String
}
