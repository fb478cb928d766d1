#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address range in CIDR notation (a bare address is a /32 or /128).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let address: [UInt8]
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let address = Self.bytes(of: parts[0]) else { return nil }
        let maximum = address.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : maximum
        guard let prefix, (0...maximum).contains(prefix) else { return nil }
        self.address = address
        self.prefixLength = prefix
    }

    public var description: String { "\(address.map(String.init).joined(separator: "."))/\(prefixLength)" }

    /// Whether the textual address `ip` lies in this range.
    public func contains(_ ip: String) -> Bool {
        guard let candidate = Self.bytes(of: ip), candidate.count == address.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address, candidate) {
            if remaining <= 0 { return true }
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The network-order bytes of an IPv4 or IPv6 address, or nil when `text` is neither.
    /// An IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) reads as the IPv4 address.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                return Array(bytes[12..<16])
            }
            return bytes
        }
        return nil
    }
}
