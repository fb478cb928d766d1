/// A syntactically valid email address.
///
/// Accepts the dot-atom form of RFC 5322 in ASCII (`local@example.com`), which covers the
/// addresses people type; quoted local parts, comments, IP-literal domains and raw
/// non-ASCII are rejected (an internationalised domain is accepted in its `xn--` form).
/// Because the accepted alphabet has no spaces, CR, LF or NUL, an address can never
/// inject a header into an email.
public struct EmailAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address as the person typed it, without surrounding white space.
    public let value: String
    /// The address in lower case: the key under which accounts are unique.
    public let normalized: String

    public static let maxLength = 254
    static let maxLocalPartLength = 64
    static let maxLabelLength = 63

    /// Returns nil when `raw`, once trimmed of white space, is not an acceptable address.
    public init?(_ raw: String) {
        let trimmed = raw.trimmingWhitespace()
        guard Self.isValid(trimmed) else { return nil }
        self.value = trimmed
        self.normalized = trimmed.lowercased()
    }

    public var description: String { value }

    /// The part before the `@`, in lower case.
    public var localPart: Substring { normalized[..<normalized.lastIndex(of: "@")!] }

    static func isValid(_ address: String) -> Bool {
        let utf8 = Array(address.utf8)
        guard !utf8.isEmpty, utf8.count <= maxLength else { return false }
        guard let at = utf8.firstIndex(of: UInt8(ascii: "@")), at == utf8.lastIndex(of: UInt8(ascii: "@")) else {
            return false
        }
        let local = utf8[..<at]
        let domain = utf8[(at + 1)...]
        return isValidLocalPart(local) && isValidDomain(domain)
    }

    private static func isValidLocalPart(_ local: ArraySlice<UInt8>) -> Bool {
        guard !local.isEmpty, local.count <= maxLocalPartLength else { return false }
        return local.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy { atom in
            !atom.isEmpty && atom.allSatisfy(isAtext)
        }
    }

    private static func isValidDomain(_ domain: ArraySlice<UInt8>) -> Bool {
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard !label.isEmpty, label.count <= maxLabelLength,
                label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-"),
                label.allSatisfy({ isASCIILetterOrDigit($0) || $0 == UInt8(ascii: "-") })
            else { return false }
        }
        // A top-level domain is never all digits; this also rejects dotted IPv4 addresses.
        return labels.last!.contains(where: { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
    }

    private static func isASCIILetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// RFC 5322 `atext`: letters, digits and these printable symbols.
    private static func isAtext(_ byte: UInt8) -> Bool {
        isASCIILetterOrDigit(byte) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
    }
}

extension String {
    /// Trims spaces, tabs and line breaks at both ends, without Foundation.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[start...end])
    }
}
