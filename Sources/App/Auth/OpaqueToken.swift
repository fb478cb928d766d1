import Crypto
import Foundation

/// A random bearer secret sent to a person (in a link) and kept by the server only as a hash.
///
/// 256 bits from the system's cryptographic generator, written as unpadded base64url
/// (43 characters, safe in URLs without escaping). The database stores SHA-256 of the
/// string, so a leaked table cannot be replayed; lookups go through that hash, so no
/// secret is ever compared byte by byte in application code.
public struct OpaqueToken: Sendable {
    public static let byteCount = 32
    public static let encodedLength = 43

    /// The secret, as sent in the link. Never log it.
    public let value: String

    private init(value: String) {
        self.value = value
    }

    /// A fresh token.
    public static func generate() -> OpaqueToken {
        let key = SymmetricKey(size: .bits256)
        let bytes = key.withUnsafeBytes { Data($0) }
        return OpaqueToken(value: bytes.base64URLEncodedString())
    }

    /// Accepts exactly the shape `generate()` produces; anything else is malformed.
    public init?(parsing raw: String) {
        guard raw.utf8.count == Self.encodedLength,
            raw.utf8.allSatisfy({ Self.isBase64URLCharacter($0) }),
            let decoded = Data(base64URLEncoded: raw), decoded.count == Self.byteCount
        else { return nil }
        self.value = raw
    }

    /// What the database stores and looks up.
    public var hash: Data {
        Data(SHA256.hash(data: Data(value.utf8)))
    }

    private static func isBase64URLCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

extension Data {
    func base64URLEncodedString() -> String {
        var encoded = base64EncodedString()
        encoded = encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while encoded.hasSuffix("=") { encoded.removeLast() }
        return encoded
    }

    init?(base64URLEncoded string: String) {
        var standard = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard.append("=") }
        self.init(base64Encoded: standard)
    }
}
