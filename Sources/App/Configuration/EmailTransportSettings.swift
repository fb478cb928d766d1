import Foundation

/// Which email transport the outbox worker sends through, with its settings.
public enum EmailTransportSettings: Sendable {
    /// Prints every email to standard output; for development.
    case console
    case smtp(SMTPSettings)
    case ses(SESSettings)
    case sendgrid(SendGridSettings)

    /// The value of `EMAIL_TRANSPORT`.
    public var name: String {
        switch self {
        case .console: "console"
        case .smtp: "smtp"
        case .ses: "ses"
        case .sendgrid: "sendgrid"
        }
    }

    static func read(
        _ env: EnvironmentReader, environment: AppEnvironment
    ) throws(ConfigurationError)
        -> EmailTransportSettings
    {
        let kind = try env.oneOf(
            "EMAIL_TRANSPORT", default: "console",
            choices: ["console": "console", "smtp": "smtp", "ses": "ses", "sendgrid": "sendgrid"])
        switch kind {
        case "smtp": return .smtp(try SMTPSettings.read(env, environment: environment))
        case "ses": return .ses(try SESSettings.read(env, environment: environment))
        case "sendgrid": return .sendgrid(try SendGridSettings.read(env, environment: environment))
        default:
            if environment == .production {
                throw ConfigurationError(
                    variable: "EMAIL_TRANSPORT",
                    reason:
                        "console only prints emails and is refused when APP_ENV=production; set smtp, ses or sendgrid"
                )
            }
            return .console
        }
    }

    /// An `…_ENDPOINT` override: an absolute http(s) base URL; https in production, where it
    /// would carry credentials.
    static func endpoint(
        _ env: EnvironmentReader, _ name: String, environment: AppEnvironment
    )
        throws(ConfigurationError) -> URL?
    {
        guard let raw = env.string(name) else { return nil }
        guard let components = URLComponents(string: raw),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            components.host?.isEmpty == false, components.query == nil, components.fragment == nil,
            let url = URL(string: raw.hasSuffix("/") ? String(raw.dropLast()) : raw)
        else {
            throw ConfigurationError(variable: name, reason: "must be an absolute http(s) URL, got \"\(raw)\"")
        }
        if environment == .production && scheme != "https" {
            throw ConfigurationError(variable: name, reason: "must be an https URL when APP_ENV=production")
        }
        return url
    }
}
