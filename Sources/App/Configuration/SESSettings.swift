import Foundation

/// Amazon SES v2 (`EMAIL_TRANSPORT=ses`).
public struct SESSettings: Sendable {
    public var region: String
    public var credentials: AWSCredentialSource
    /// `https://email.<region>.amazonaws.com` unless overridden (`SES_ENDPOINT`).
    public var endpoint: URL
    public var configurationSet: String?

    public init(region: String, credentials: AWSCredentialSource, endpoint: URL? = nil, configurationSet: String? = nil)
    {
        self.region = region
        self.credentials = credentials
        self.endpoint = endpoint ?? URL(string: "https://email.\(region).amazonaws.com")!
        self.configurationSet = configurationSet
    }

    static func read(_ env: EnvironmentReader, environment: AppEnvironment) throws(ConfigurationError) -> SESSettings {
        guard let region = env.string("AWS_REGION") ?? env.string("AWS_DEFAULT_REGION") else {
            throw ConfigurationError(
                variable: "AWS_REGION", reason: "is required when EMAIL_TRANSPORT=ses (e.g. eu-west-1)")
        }
        guard region.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }) else {
            throw ConfigurationError(
                variable: "AWS_REGION", reason: "must be a region name such as eu-west-1, got \"\(region)\"")
        }
        let credentials = try AWSCredentialSource.read(env)
        let configurationSet = env.string("SES_CONFIGURATION_SET")
        if let configurationSet,
            !configurationSet.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) || configurationSet.utf8.count > 64
        {
            throw ConfigurationError(variable: "SES_CONFIGURATION_SET", reason: "must be a configuration set name")
        }
        return SESSettings(
            region: region,
            credentials: credentials,
            endpoint: try EmailTransportSettings.endpoint(env, "SES_ENDPOINT", environment: environment),
            configurationSet: configurationSet
        )
    }
}

/// Where AWS credentials come from: the environment, or the ECS container credentials
/// endpoint that a Fargate task role provides.
public enum AWSCredentialSource: Sendable {
    case fixed(AWSCredentials)
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (under 169.254.170.2) or `…_FULL_URI`, with
    /// the optional authorization token the agent requires.
    case container(url: URL, authorizationToken: String?)

    static func read(_ env: EnvironmentReader) throws(ConfigurationError) -> AWSCredentialSource {
        if let keyID = env.string("AWS_ACCESS_KEY_ID") {
            guard let secret = env.string("AWS_SECRET_ACCESS_KEY") else {
                throw ConfigurationError(
                    variable: "AWS_SECRET_ACCESS_KEY", reason: "is required when AWS_ACCESS_KEY_ID is set")
            }
            return .fixed(
                AWSCredentials(
                    accessKeyID: keyID, secretAccessKey: secret, sessionToken: env.string("AWS_SESSION_TOKEN")))
        }
        if env.string("AWS_SECRET_ACCESS_KEY") != nil {
            throw ConfigurationError(
                variable: "AWS_ACCESS_KEY_ID", reason: "is required when AWS_SECRET_ACCESS_KEY is set")
        }
        let token = try env.secret("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        if let relative = env.string("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            guard relative.hasPrefix("/"), let url = URL(string: "http://169.254.170.2" + relative) else {
                throw ConfigurationError(
                    variable: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", reason: "must be a path starting with /")
            }
            return .container(url: url, authorizationToken: token)
        }
        if let full = env.string("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            guard let components = URLComponents(string: full), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", components.host?.isEmpty == false, let url = components.url
            else {
                throw ConfigurationError(
                    variable: "AWS_CONTAINER_CREDENTIALS_FULL_URI", reason: "must be an absolute http(s) URL")
            }
            return .container(url: url, authorizationToken: token)
        }
        throw ConfigurationError(
            variable: "AWS_ACCESS_KEY_ID",
            reason: "SES needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                + "or run with an ECS/Fargate task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)"
        )
    }
}

/// One set of AWS credentials.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}
