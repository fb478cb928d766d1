import Foundation

/// The protected header of a compact JWT, checked before the signature: only `alg: ES256`
/// and one of our own key ids are accepted. jwt-kit alone would verify a token without `kid`
/// against its default key, and pick the algorithm from the key; refusing anything else here
/// makes the rule explicit instead of a consequence of which keys happen to be registered.
struct JWTHeader: Decodable {
    let alg: String
    let kid: String?
    /// Extensions the token says must be understood; we understand none.
    let crit: [String]?

    init?(token: String) {
        guard let end = token.firstIndex(of: "."), let data = Self.decodeBase64URL(token[..<end]),
            let header = try? JSONDecoder().decode(JWTHeader.self, from: data)
        else { return nil }
        self = header
    }

    /// Whether a token with this header may be verified with `keyIDs`.
    func isAcceptable(keyIDs: Set<String>) -> Bool {
        alg == "ES256" && crit == nil && kid.map(keyIDs.contains) == true
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        guard text.utf8.count <= 4096 else { return nil }
        var standard = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard)
    }
}
