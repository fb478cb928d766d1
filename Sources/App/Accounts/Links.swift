/// Builds the absolute links that go into emails, from `PUBLIC_BASE_URL`.
public struct Links: Sendable {
    /// Without a trailing slash.
    public let baseURL: String

    public init(baseURL: String) {
        self.baseURL = baseURL
    }

    public func verification(_ token: OpaqueToken) -> String {
        "\(baseURL)/v1/verify?token=\(token.value)"
    }
}
