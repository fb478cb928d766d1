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
        // 43 characters carry 258 bits: the 256 of the token and two that a canonical encoding
        // leaves zero, so the last character is one of the 16 whose value ends in 00.
        guard raw.utf8.count == Self.encodedLength,
            raw.utf8.allSatisfy({ Self.isBase64URLCharacter($0) }),
            let last = raw.utf8.last, Self.sextet(last) & 0b11 == 0
        else { return nil }
        self.value = raw
    }

    /// The 6-bit value of a base64url character (which must be one).
    private static func sextet(_ byte: UInt8) -> UInt8 {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        default: 63
        }
    }

    /// What the database stores and looks up.
    public var hash: Data {
        Data(SHA256.hash(data: Data(value.utf8)))
    }

    static func isBase64URLCharacter(_ byte: UInt8) -> Bool {
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

    /// Decodes unpadded base64url; nil for any other character.
    init?(base64URLEncoded text: String) {
        guard text.utf8.allSatisfy(OpaqueToken.isBase64URLCharacter) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64.append("=") }
        self.init(base64Encoded: base64)
    }
}
