import JWTKit

/// The claims of an access token.
struct AccessTokenClaims: JWTPayload {
    let iss: IssuerClaim
    let aud: AudienceClaim
    let sub: SubjectClaim
    let iat: IssuedAtClaim
    let exp: ExpirationClaim
    let jti: IDClaim
    let roles: [String]
    /// The session (refresh-token family) the token was issued in; absent in tokens from
    /// before sessions were listed.
    let sid: String?

    /// Signature checks happen before this; here the time. Issuer and audience are checked by
    /// `AccessTokens`, which knows the expected values.
    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
