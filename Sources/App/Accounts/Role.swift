/// What an account may do; every new account is a `user`.
public enum Role: String, Sendable, Codable, CaseIterable {
    case user
    case admin
}
