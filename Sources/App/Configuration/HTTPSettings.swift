import Foundation
import NIOSSL

/// How the HTTP server faces the network.
public struct HTTPSettings: Sendable {
    /// Set when the server speaks HTTPS itself.
    public var tls: TLSConfiguration?
    /// A TLS-terminating proxy or load balancer in front forwards HTTPS as plain HTTP.
    public var trustProxyTLS: Bool
    /// Exact origins (`scheme://host[:port]`) that browsers may call the API from.
    public var corsAllowedOrigins: Set<String>
    /// Peers whose `X-Forwarded-For` is believed.
    public var trustedProxies: [IPNetwork]
    public var maxConnections: Int
    /// A connection that sends nothing for this long is closed.
    public var idleTimeout: Duration
    /// Upper bound of all request header fields together.
    public var maxHeaderSize: Int
    /// Time a client has to send a complete request head, and then its body.
    public var requestTimeout: Duration

    public init(
        tls: TLSConfiguration? = nil,
        trustProxyTLS: Bool = false,
        corsAllowedOrigins: Set<String> = [],
        trustedProxies: [IPNetwork] = [],
        maxConnections: Int = 1000,
        idleTimeout: Duration = .seconds(30),
        maxHeaderSize: Int = 16 * 1024,
        requestTimeout: Duration = .seconds(10)
    ) {
        self.tls = tls
        self.trustProxyTLS = trustProxyTLS
        self.corsAllowedOrigins = corsAllowedOrigins
        self.trustedProxies = trustedProxies
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.maxHeaderSize = maxHeaderSize
        self.requestTimeout = requestTimeout
    }

    /// Whether clients reach the service over HTTPS (so HSTS applies).
    public var servesHTTPS: Bool { tls != nil || trustProxyTLS }

    /// The modern AEAD suites for TLS 1.2 (TLS 1.3 has only AEAD suites).
    static let tls12CipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    static func read(_ env: EnvironmentReader, environment: AppEnvironment) throws(ConfigurationError) -> HTTPSettings {
        var settings = HTTPSettings()
        switch (env.string("TLS_CERT_FILE"), env.string("TLS_KEY_FILE")) {
        case (let certificate?, let key?):
            settings.tls = try tlsConfiguration(certificate: certificate, key: key, env: env)
        case (nil, nil):
            break
        case (nil, _?):
            throw ConfigurationError(variable: "TLS_CERT_FILE", reason: "is required when TLS_KEY_FILE is set")
        case (_?, nil):
            throw ConfigurationError(variable: "TLS_KEY_FILE", reason: "is required when TLS_CERT_FILE is set")
        }
        settings.trustProxyTLS = try env.oneOf(
            "TRUST_PROXY_TLS",
            default: false,
            choices: ["true": true, "false": false, "1": true, "0": false]
        )
        if environment == .production && !settings.servesHTTPS {
            throw ConfigurationError(
                variable: "TLS_CERT_FILE",
                reason: "APP_ENV=production refuses plain HTTP: set TLS_CERT_FILE and TLS_KEY_FILE, "
                    + "or TRUST_PROXY_TLS=true behind a TLS-terminating load balancer"
            )
        }
        for origin in (env.string("CORS_ALLOWED_ORIGINS") ?? "").split(separator: ",") {
            let origin = origin.trimmingCharacters(in: .whitespaces)
            guard let components = URLComponents(string: origin), let scheme = components.scheme,
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
                components.path.isEmpty, components.query == nil, components.user == nil, !origin.contains("*")
            else {
                throw ConfigurationError(
                    variable: "CORS_ALLOWED_ORIGINS",
                    reason: "must be comma-separated origins such as https://app.example.com, got \"\(origin)\""
                )
            }
            settings.corsAllowedOrigins.insert(origin.lowercased())
        }
        for entry in (env.string("TRUSTED_PROXIES") ?? "").split(separator: ",") {
            let entry = entry.trimmingCharacters(in: .whitespaces)
            guard let network = IPNetwork(entry) else {
                throw ConfigurationError(
                    variable: "TRUSTED_PROXIES",
                    reason: "must be comma-separated IP addresses or CIDR ranges, got \"\(entry)\""
                )
            }
            settings.trustedProxies.append(network)
        }
        settings.maxConnections = try env.integer("MAX_CONNECTIONS", default: 1000, range: 1...100_000)
        settings.idleTimeout = .seconds(try env.integer("IDLE_TIMEOUT", default: 30, range: 1...3600))
        settings.requestTimeout = .seconds(try env.integer("REQUEST_TIMEOUT", default: 10, range: 1...600))
        return settings
    }

    private static func tlsConfiguration(
        certificate: String, key: String, env: EnvironmentReader
    ) throws(ConfigurationError)
        -> TLSConfiguration
    {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificate)
        } catch {
            throw ConfigurationError(
                variable: "TLS_CERT_FILE", reason: "cannot read a PEM certificate chain from \(certificate)")
        }
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        } catch {
            throw ConfigurationError(variable: "TLS_KEY_FILE", reason: "cannot read a PEM private key from \(key)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(privateKey)
        )
        // swift-nio-ssl's default minimum is TLS 1.0.
        configuration.minimumTLSVersion = try env.oneOf(
            "TLS_MIN_VERSION",
            default: .tlsv12,
            choices: ["1.2": .tlsv12, "1.3": .tlsv13]
        )
        configuration.cipherSuites = tls12CipherSuites
        return configuration
    }
}
