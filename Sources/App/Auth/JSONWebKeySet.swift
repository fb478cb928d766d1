/// The public keys that verify access tokens, as served at `/.well-known/jwks.json` (RFC 7517).
/// Built by hand from public parameters only, so a private key can never end up in it.
public struct JSONWebKeySet: Sendable, Encodable, Equatable {
    public struct Key: Sendable, Encodable, Equatable {
        public let kty: String
        public let crv: String
        public let x: String
        public let y: String
        public let kid: String
        public let use: String
        public let alg: String
    }

    public let keys: [Key]
}
