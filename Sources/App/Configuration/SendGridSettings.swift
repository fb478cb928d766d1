import Foundation

/// SendGrid's v3 Mail Send API (`EMAIL_TRANSPORT=sendgrid`).
public struct SendGridSettings: Sendable {
    public var apiKey: String
    /// `https://api.sendgrid.com` unless overridden (`SENDGRID_ENDPOINT`); the path is `/v3/mail/send`.
    public var endpoint: URL

    public init(apiKey: String, endpoint: URL? = nil) {
        self.apiKey = apiKey
        self.endpoint = endpoint ?? URL(string: "https://api.sendgrid.com")!
    }

    static func read(
        _ env: EnvironmentReader, environment: AppEnvironment
    ) throws(ConfigurationError) -> SendGridSettings {
        guard let apiKey = try env.secret("SENDGRID_API_KEY") else {
            throw ConfigurationError(
                variable: "SENDGRID_API_KEY",
                reason: "is required when EMAIL_TRANSPORT=sendgrid (or SENDGRID_API_KEY_FILE)")
        }
        guard apiKey.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw ConfigurationError(variable: "SENDGRID_API_KEY", reason: "must be printable ASCII without spaces")
        }
        return SendGridSettings(
            apiKey: apiKey,
            endpoint: try EmailTransportSettings.endpoint(env, "SENDGRID_ENDPOINT", environment: environment))
    }
}
