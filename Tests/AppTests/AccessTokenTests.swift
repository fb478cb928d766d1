import Crypto
import Foundation
import HummingbirdTesting
import JWTKit
import Testing

@testable import App

@Suite("Access tokens")
struct AccessTokenTests {
    let serverKey = P256.Signing.PrivateKey()

    private func configure(_ configuration: inout AppConfiguration) {
        configuration.auth.signingKey = try? ES256PrivateKey(pem: serverKey.pemRepresentation)
        #expect(configuration.auth.signingKey != nil)
    }

    private func loggedIn(_ env: TestEnvironment, _ client: some TestClientProtocol) async throws -> String {
        try await env.activate(client, email: "holder@example.com", password: "right passphrase")
        let response = try await client.login(email: "holder@example.com", password: "right passphrase")
        return try #require(response.json["access_token"] as? String)
    }

    @Test("a token verifies with the published JWKS alone and carries the documented claims")
    func verifiableWithJWKS() async throws {
        try await TestEnvironment.with(.sqlite, configure: configure) { env in
            try await env.withApp { client in
                let token = try await loggedIn(env, client)
                let jwksResponse = try await client.execute(uri: "/.well-known/jwks.json", method: .get)
                #expect(jwksResponse.status == .ok)
                let jwks = jwksResponse.json
                #expect(JWTForge.verifyWithJWKS(token, jwks: jwks))
                // No private parameter is ever published.
                let keys = try #require(jwks["keys"] as? [[String: Any]])
                #expect(keys.count == 1)
                #expect(
                    keys.allSatisfy {
                        $0["d"] == nil && $0["use"] as? String == "sig" && $0["alg"] as? String == "ES256"
                    })

                let (header, payload) = try #require(JWTForge.parts(token))
                #expect(header["alg"] as? String == "ES256")
                #expect(header["kid"] as? String == keys[0]["kid"] as? String)
                #expect(payload["iss"] as? String == "https://accounts.example.test")
                #expect(payload["aud"] as? String == "https://accounts.example.test")
                #expect(payload["roles"] as? [String] == ["user"])
                #expect((payload["jti"] as? String)?.isEmpty == false)
                let me = try await client.get("/v1/me", bearer: token).json
                #expect(payload["sub"] as? String == me["id"] as? String)
                let iat = try #require(payload["iat"] as? Int)
                let exp = try #require(payload["exp"] as? Int)
                #expect(exp - iat == 900)
            }
        }
    }

    /// Every forged or stale token gets 401 invalid_token with a Bearer challenge.
    private func expectRefused(_ token: String, _ client: some TestClientProtocol, _ comment: Comment) async throws {
        let response = try await client.get("/v1/me", bearer: token)
        #expect(response.status == .unauthorized, comment)
        #expect(response.json["code"] as? String == "invalid_token", comment)
        #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true, comment)
    }

    @Test(
        "expired, tampered, foreign-key, alg none, HS256-with-the-public-key, missing or unknown kid, other alg and crit tokens are refused"
    )
    func forgeriesRefused() async throws {
        try await TestEnvironment.with(.sqlite, configure: configure) { env in
            try await env.withApp { client in
                let token = try await loggedIn(env, client)
                #expect(try await client.get("/v1/me", bearer: token).status == .ok)
                let (header, payload) = try #require(JWTForge.parts(token))

                var expired = payload
                expired["iat"] = Int(Date().timeIntervalSince1970) - 2000
                expired["exp"] = Int(Date().timeIntervalSince1970) - 1000
                try await expectRefused(
                    try JWTForge.es256(header: header, payload: expired, key: serverKey), client, "expired")

                var escalated = payload
                escalated["roles"] = ["user", "admin"]
                let pieces = token.split(separator: ".")
                let tampered = "\(pieces[0]).\(JWTForge.json(escalated)).\(pieces[2])"
                try await expectRefused(tampered, client, "tampered payload")

                try await expectRefused(
                    try JWTForge.es256(header: header, payload: payload, key: P256.Signing.PrivateKey()),
                    client,
                    "signed with another key under the same kid"
                )
                try await expectRefused(
                    JWTForge.json(["alg": "none", "typ": "JWT"]) + "." + JWTForge.json(payload) + ".",
                    client,
                    "alg none"
                )
                var hs256Header = header
                hs256Header["alg"] = "HS256"
                try await expectRefused(
                    JWTForge.hs256(
                        header: hs256Header, payload: payload, secret: Data(serverKey.publicKey.pemRepresentation.utf8)),
                    client,
                    "HS256 keyed with the public key"
                )
                var otherAudience = payload
                otherAudience["aud"] = "https://another-service.example"
                try await expectRefused(
                    try JWTForge.es256(header: header, payload: otherAudience, key: serverKey),
                    client,
                    "another audience"
                )
                var otherIssuer = payload
                otherIssuer["iss"] = "https://evil.example"
                try await expectRefused(
                    try JWTForge.es256(header: header, payload: otherIssuer, key: serverKey),
                    client,
                    "another issuer"
                )
                try await expectRefused("not-a-jwt", client, "garbage")
                // The header is checked explicitly: no falling back to the current key.
                var noKid = header
                noKid["kid"] = nil
                try await expectRefused(
                    try JWTForge.es256(header: noKid, payload: payload, key: serverKey), client, "no kid")
                var unknownKid = header
                unknownKid["kid"] = "some-other-key"
                try await expectRefused(
                    try JWTForge.es256(header: unknownKid, payload: payload, key: serverKey), client, "unknown kid")
                for alg in ["ES384", "RS256", "EdDSA", "es256"] {
                    var otherAlg = header
                    otherAlg["alg"] = alg
                    try await expectRefused(
                        try JWTForge.es256(header: otherAlg, payload: payload, key: serverKey), client, "alg \(alg)")
                }
                var critical = header
                critical["crit"] = ["exp"]
                try await expectRefused(
                    try JWTForge.es256(header: critical, payload: payload, key: serverKey), client, "crit")
                // The real header, re-signed by the same key, is still accepted.
                #expect(
                    try await client.get(
                        "/v1/me", bearer: try JWTForge.es256(header: header, payload: payload, key: serverKey)
                    ).status == .ok)
            }
        }
    }

    @Test("after a key rotation, tokens signed by the previous key stay valid and both keys are published")
    func keyRotation() async throws {
        let previousKey = P256.Signing.PrivateKey()
        try await TestEnvironment.with(.sqlite) { env in
            // Issued by the previous key, as the service did before the rotation.
            var before = env.configuration
            before.auth.signingKey = try ES256PrivateKey(pem: previousKey.pemRepresentation)
            let oldApp = try await buildApplication(
                configuration: before,
                logger: env.logger,
                options: BuildOptions(transport: env.transport, runsOutboxWorker: false)
            )
            let oldToken = try await oldApp.test(.router) { client in try await loggedIn(env, client) }

            var after = env.configuration
            after.auth.signingKey = try ES256PrivateKey(pem: serverKey.pemRepresentation)
            after.auth.previousPublicKeys = [try ES256PublicKey(pem: previousKey.publicKey.pemRepresentation)]
            let newApp = try await buildApplication(
                configuration: after,
                logger: env.logger,
                options: BuildOptions(transport: env.transport, runsOutboxWorker: false)
            )
            try await newApp.test(.router) { client in
                #expect(try await client.get("/v1/me", bearer: oldToken).status == .ok)
                let jwks = try await client.execute(uri: "/.well-known/jwks.json", method: .get).json
                #expect((jwks["keys"] as? [[String: Any]])?.count == 2)
                #expect(JWTForge.verifyWithJWKS(oldToken, jwks: jwks))
                let newToken = try #require(
                    try await client.login(email: "holder@example.com", password: "right passphrase").json[
                        "access_token"] as? String
                )
                #expect(JWTForge.verifyWithJWKS(newToken, jwks: jwks))
                #expect(
                    JWTForge.parts(newToken)?.header["kid"] as? String != JWTForge.parts(oldToken)?.header["kid"]
                        as? String)
            }
        }
    }
}
