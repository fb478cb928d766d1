import Crypto
import Foundation

/// Makes and checks JWTs with swift-crypto alone, independently of the server's jwt-kit
/// code path: to verify what the server issues, and to forge what it must refuse.
enum JWTForge {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }

    static func json(_ object: [String: Any]) -> String {
        base64URL((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// The decoded header and payload of a compact JWT.
    static func parts(_ token: String) -> (header: [String: Any], payload: [String: Any])? {
        let pieces = token.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3,
            let header = decodeBase64URL(pieces[0]).flatMap({
                try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
            }),
            let payload = decodeBase64URL(pieces[1]).flatMap({
                try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
            })
        else { return nil }
        return (header, payload)
    }

    /// ES256-signs `payload` with `key`.
    static func es256(header: [String: Any], payload: [String: Any], key: P256.Signing.PrivateKey) throws -> String {
        let input = json(header) + "." + json(payload)
        let signature = try key.signature(for: Data(input.utf8))
        return input + "." + base64URL(signature.rawRepresentation)
    }

    /// HS256-signs `payload` with `secret`.
    static func hs256(header: [String: Any], payload: [String: Any], secret: Data) -> String {
        let input = json(header) + "." + json(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
        return input + "." + base64URL(Data(mac))
    }

    /// Whether `token` carries a valid ES256 signature by one of the keys of a JWKS document.
    static func verifyWithJWKS(_ token: String, jwks: [String: Any]) -> Bool {
        let pieces = token.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3, let header = parts(token)?.header, header["alg"] as? String == "ES256",
            let kid = header["kid"] as? String,
            let keys = jwks["keys"] as? [[String: Any]],
            let jwk = keys.first(where: { $0["kid"] as? String == kid }),
            jwk["kty"] as? String == "EC", jwk["crv"] as? String == "P-256",
            let x = (jwk["x"] as? String).flatMap({ decodeBase64URL(Substring($0)) }),
            let y = (jwk["y"] as? String).flatMap({ decodeBase64URL(Substring($0)) }),
            let publicKey = try? P256.Signing.PublicKey(rawRepresentation: x + y),
            let signatureBytes = decodeBase64URL(pieces[2]),
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes)
        else { return false }
        return publicKey.isValidSignature(signature, for: Data("\(pieces[0]).\(pieces[1])".utf8))
    }
}
