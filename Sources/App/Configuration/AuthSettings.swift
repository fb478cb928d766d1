import Foundation
import JWTKit

/// How access and refresh tokens are made.
public struct AuthSettings: Sendable {
    /// The ES256 key that signs access tokens; nil in development means "generate one per run".
    public var signingKey: ES256PrivateKey?
    /// Public keys of earlier signing keys, so their tokens stay valid until they expire.
    public var previousPublicKeys: [ES256PublicKey]
    /// `iss` of issued tokens (default `PUBLIC_BASE_URL`).
    public var issuer: String
    /// `aud` of issued tokens, and the audience a presented token must name.
    public var audience: String
    public var accessTokenTTL: Duration
    /// Sliding: each refresh token is valid this long after it was issued.
    public var refreshTokenTTL: Duration
    /// Absolute: no token of a family is valid longer than this after its login.
    public var refreshTokenMaxAge: Duration

    public init(
        signingKey: ES256PrivateKey? = nil,
        previousPublicKeys: [ES256PublicKey] = [],
        issuer: String,
        audience: String,
        accessTokenTTL: Duration = .seconds(900),
        refreshTokenTTL: Duration = .seconds(30 * 24 * 3600),
        refreshTokenMaxAge: Duration = .seconds(30 * 24 * 3600)
    ) {
        self.signingKey = signingKey
        self.previousPublicKeys = previousPublicKeys
        self.issuer = issuer
        self.audience = audience
        self.accessTokenTTL = accessTokenTTL
        self.refreshTokenTTL = refreshTokenTTL
        self.refreshTokenMaxAge = refreshTokenMaxAge
    }

    /// Reads the keys and token settings; key material comes from the variable itself or from
    /// the file its `_FILE` twin names (the way secrets managers mount secrets).
    static func read(
        _ env: EnvironmentReader, environment: AppEnvironment, publicBaseURL: String
    ) throws(ConfigurationError)
        -> AuthSettings
    {
        let privatePEM = try pem(env, "JWT_PRIVATE_KEY")
        var signingKey: ES256PrivateKey?
        if let privatePEM {
            do {
                signingKey = try ES256PrivateKey(pem: privatePEM)
            } catch {
                throw ConfigurationError(
                    variable: "JWT_PRIVATE_KEY",
                    reason: "must be a PEM-encoded P-256 (ES256) private key, e.g. from "
                        + "`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
                )
            }
        } else if environment == .production {
            throw ConfigurationError(
                variable: "JWT_PRIVATE_KEY",
                reason:
                    "is required when APP_ENV=production (or JWT_PRIVATE_KEY_FILE); tokens would not survive a restart"
            )
        }
        var previous: [ES256PublicKey] = []
        if let publicPEMs = try pem(env, "JWT_PREVIOUS_PUBLIC_KEYS") {
            for block in pemBlocks(publicPEMs) {
                do {
                    previous.append(try ES256PublicKey(pem: block))
                } catch {
                    throw ConfigurationError(
                        variable: "JWT_PREVIOUS_PUBLIC_KEYS",
                        reason: "must hold PEM-encoded P-256 public keys"
                    )
                }
            }
        }
        return AuthSettings(
            signingKey: signingKey,
            previousPublicKeys: previous,
            issuer: env.string("JWT_ISSUER", default: publicBaseURL),
            audience: env.string("JWT_AUDIENCE", default: publicBaseURL),
            accessTokenTTL: .seconds(try env.integer("ACCESS_TOKEN_TTL", default: 900, range: 60...86400)),
            refreshTokenTTL: .seconds(
                try env.integer("REFRESH_TOKEN_TTL", default: 30 * 24 * 3600, range: 300...(365 * 24 * 3600))
            ),
            refreshTokenMaxAge: .seconds(
                try env.integer("REFRESH_TOKEN_MAX_AGE", default: 30 * 24 * 3600, range: 300...(365 * 24 * 3600))
            )
        )
    }

    /// The PEM in `name` or in the file `name_FILE` names.
    private static func pem(_ env: EnvironmentReader, _ name: String) throws(ConfigurationError) -> String? {
        // Deployment tools often flatten newlines to "\n"; PEM needs real ones.
        try env.secret(name)?.replacingOccurrences(of: "\\n", with: "\n")
    }

    /// Splits concatenated PEM documents.
    static func pemBlocks(_ text: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            current.append(line)
            if line.hasPrefix("-----END ") {
                blocks.append(current.joined(separator: "\n"))
                current = []
            }
        }
        return blocks
    }
}
