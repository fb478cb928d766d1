/// Builds the absolute links that go into emails, from `PUBLIC_BASE_URL`.
public struct Links: Sendable {
    /// Without a trailing slash.
    public let baseURL: String
    /// A product's own reset page, or nil for the built-in form.
    public let passwordResetURL: String?

    public init(baseURL: String, passwordResetURL: String? = nil) {
        self.baseURL = baseURL
        self.passwordResetURL = passwordResetURL
    }

    public func passwordReset(_ token: OpaqueToken) -> String {
        guard let page = passwordResetURL else { return "\(baseURL)/v1/password/reset?token=\(token.value)" }
        return page + (page.contains("?") ? "&" : "?") + "token=\(token.value)"
    }

    public func verification(_ token: OpaqueToken) -> String {
        "\(baseURL)/v1/verify?token=\(token.value)"
    }

    public func emailChange(_ token: OpaqueToken) -> String {
        "\(baseURL)/v1/email/confirm?token=\(token.value)"
    }
}
