/// Where an account is in its life.
public enum AccountStatus: String, Sendable, Codable {
    /// Registered; the address is not proven yet and nobody can log in.
    case pending
    /// The owner of the address followed a verification link.
    case active
}
