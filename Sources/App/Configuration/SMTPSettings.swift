import Foundation
import NIOSSL

/// How to reach an SMTP relay (`EMAIL_TRANSPORT=smtp`).
public struct SMTPSettings: Sendable {
    public enum Security: String, Sendable {
        /// Plain connection upgraded with STARTTLS before anything else is said; refused if the
        /// server does not offer it (port 587).
        case starttls
        /// TLS from the first byte (port 465).
        case tls
        /// No encryption at all: development only.
        case none
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// A PEM file of extra trusted CA certificates (a private relay); the system store otherwise.
    public var caFile: String?
    /// The name this client gives in EHLO.
    public var heloName: String
    /// Connections are closed after this long without a message.
    public var idleTimeout: Duration

    public init(
        host: String,
        port: Int = 587,
        security: Security = .starttls,
        username: String? = nil,
        password: String? = nil,
        caFile: String? = nil,
        heloName: String = "localhost",
        idleTimeout: Duration = .seconds(30)
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
        self.heloName = heloName
        self.idleTimeout = idleTimeout
    }

    static func read(_ env: EnvironmentReader, environment: AppEnvironment) throws(ConfigurationError) -> SMTPSettings {
        guard let host = env.string("SMTP_HOST") else {
            throw ConfigurationError(variable: "SMTP_HOST", reason: "is required when EMAIL_TRANSPORT=smtp")
        }
        let security = try env.oneOf(
            "SMTP_SECURITY", default: Security.starttls,
            choices: ["starttls": .starttls, "tls": .tls, "none": .none])
        if security == .none && environment == .production {
            throw ConfigurationError(
                variable: "SMTP_SECURITY",
                reason: "none sends credentials and links in clear text and is refused when APP_ENV=production"
            )
        }
        if security != .none, host.contains(":") || host.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) })
        {
            throw ConfigurationError(
                variable: "SMTP_HOST",
                reason: "must be a host name, not an IP address, so the server's certificate can be checked against it"
            )
        }
        let username = env.string("SMTP_USERNAME")
        let password = try env.secret("SMTP_PASSWORD")
        if (username == nil) != (password == nil) {
            throw ConfigurationError(
                variable: username == nil ? "SMTP_USERNAME" : "SMTP_PASSWORD",
                reason: "is required when \(username == nil ? "SMTP_PASSWORD" : "SMTP_USERNAME") is set"
            )
        }
        if username == nil && environment == .production {
            throw ConfigurationError(
                variable: "SMTP_USERNAME",
                reason: "is required when APP_ENV=production (with SMTP_PASSWORD or SMTP_PASSWORD_FILE)"
            )
        }
        let caFile = env.string("SMTP_CA_FILE")
        if let caFile {
            do {
                _ = try NIOSSLCertificate.fromPEMFile(caFile)
            } catch {
                throw ConfigurationError(
                    variable: "SMTP_CA_FILE", reason: "cannot read PEM certificates from \(caFile)")
            }
        }
        let heloName = env.string("SMTP_HELO_NAME", default: ProcessInfo.processInfo.hostName)
        guard !heloName.isEmpty, heloName.utf8.count <= 255,
            heloName.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") })
        else {
            throw ConfigurationError(
                variable: "SMTP_HELO_NAME",
                reason: "must be a host name (printable ASCII, no spaces), got \"\(heloName)\"")
        }
        return SMTPSettings(
            host: host,
            port: try env.integer("SMTP_PORT", default: 587, range: 1...65535),
            security: security,
            username: username,
            password: password,
            caFile: caFile,
            heloName: heloName
        )
    }
}
