import Crypto
import Foundation
import JWTKit
import Logging

/// Issues and verifies access tokens: ES256 JWTs with `kid`, `iss`, `aud`, `sub`, `iat`,
/// `exp`, `jti` and `roles`.
///
/// A token's header must say `alg: ES256` and name one of our key ids (`JWTHeader`), and
/// verification goes through jwt-kit with only ECDSA P-256 keys registered, so `alg: none`
/// and HMAC tokens (e.g. HS256 keyed with the public key) are refused twice over. Key ids are RFC 7638 thumbprints, so they are stable across restarts and
/// instances without configuration.
public struct AccessTokens: Sendable {
    private let keys: JWTKeyCollection
    private let signingKeyID: JWKIdentifier
    public let keySet: JSONWebKeySet
    /// The `kid`s a token may name: the signing key's and the previous keys'.
    private let keyIDs: Set<String>
    let issuer: String
    let audience: String
    public let lifetime: Duration

    /// Registers the signing key (or, when none is configured, a new one with a warning:
    /// tokens then die with the process and differ between instances) and previous keys.
    public static func make(settings: AuthSettings, logger: Logger) async throws -> AccessTokens {
        let signingKey: ES256PrivateKey
        if let configured = settings.signingKey {
            signingKey = configured
        } else {
            signingKey = ES256PrivateKey()
            logger.warning(
                "no JWT_PRIVATE_KEY configured: signing access tokens with a key generated for this run only",
                metadata: ["event": "auth.ephemeral_key"]
            )
        }
        let keys = JWTKeyCollection()
        var published: [JSONWebKeySet.Key] = []
        let signingJWK = try jwk(for: signingKey.publicKey)
        await keys.add(ecdsa: signingKey, kid: JWKIdentifier(string: signingJWK.kid))
        published.append(signingJWK)
        for previous in settings.previousPublicKeys {
            let previousJWK = try jwk(for: previous)
            guard !published.contains(where: { $0.kid == previousJWK.kid }) else { continue }
            await keys.add(ecdsa: previous, kid: JWKIdentifier(string: previousJWK.kid))
            published.append(previousJWK)
        }
        return AccessTokens(
            keys: keys,
            signingKeyID: JWKIdentifier(string: signingJWK.kid),
            keySet: JSONWebKeySet(keys: published),
            keyIDs: Set(published.map(\.kid)),
            issuer: settings.issuer,
            audience: settings.audience,
            lifetime: settings.accessTokenTTL
        )
    }

    /// A signed token for the account, valid for `lifetime` from `now`.
    public func issue(accountID: UUID, role: Role, sessionID: UUID? = nil, now: Date = Date()) async throws -> String {
        // NumericDate in whole seconds: some verifiers reject fractions.
        let now = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = AccessTokenClaims(
            iss: IssuerClaim(value: issuer),
            aud: AudienceClaim(value: [audience]),
            sub: SubjectClaim(value: accountID.uuidString.lowercased()),
            iat: IssuedAtClaim(value: now),
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime.timeInterval)),
            jti: IDClaim(value: UUID().uuidString.lowercased()),
            roles: role.granted.map(\.rawValue),
            sid: sessionID?.lowercased
        )
        return try await keys.sign(claims, kid: signingKeyID)
    }

    /// The identity a valid token proves; any defect is the same `AccessTokenError`.
    public func verify(_ token: String) async throws(AccessTokenError) -> Identity {
        guard let header = JWTHeader(token: token), header.isAcceptable(keyIDs: keyIDs) else {
            throw AccessTokenError()
        }
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw AccessTokenError()
        }
        guard claims.iss.value == issuer, claims.aud.value.contains(audience),
            let accountID = UUID(uuidString: claims.sub.value)
        else { throw AccessTokenError() }
        return Identity(
            accountID: accountID, roles: Set(claims.roles.compactMap(Role.init(rawValue:))),
            sessionID: claims.sid.flatMap(UUID.init(uuidString:)))
    }

    /// The public JWK of a P-256 key, with its RFC 7638 thumbprint as `kid`.
    static func jwk(for key: ES256PublicKey) throws -> JSONWebKeySet.Key {
        guard let (x, y) = key.parameters else { throw AccessTokenError() }
        // RFC 7638: the required members in lexicographic order, no white space.
        let canonical = #"{"crv":"P-256","kty":"EC","x":"\#(x)","y":"\#(y)"}"#
        let thumbprint = Data(SHA256.hash(data: Data(canonical.utf8))).base64URLEncodedString()
        return JSONWebKeySet.Key(kty: "EC", crv: "P-256", x: x, y: y, kid: thumbprint, use: "sig", alg: "ES256")
    }
}
