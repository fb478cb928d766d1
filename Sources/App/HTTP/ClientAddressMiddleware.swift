import HTTPTypes
import Hummingbird
import NIOCore

/// Sets what the request's handlers need to know about its connection: the body timeout, and
/// the client's network for rate limits: the TCP peer, unless the peer is a trusted proxy
/// (`TRUSTED_PROXIES`); then the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy. Entries a client wrote itself sit further left and are never believed.
///
/// Addresses are normalised before they name a bucket: an IPv4-mapped IPv6 address is its
/// IPv4 address, an IPv6 address counts by its /64 (one subscriber usually holds a whole /64,
/// so per-address buckets would give them 2^64 of them), and `ip:port` and `[v6]:port`
/// entries lose their port. An entry that is no address gets a bucket of its own rather than
/// the proxy's, which would make every client share one budget.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let trustedProxies: [IPNetwork]
    let bodyTimeout: Duration

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.bodyTimeout = bodyTimeout
        let address = Self.clientAddress(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: .xForwardedFor],
            trustedProxies: trustedProxies
        )
        context.clientNetwork = Self.clientNetwork(of: address)
        let origin = RequestOrigin(
            clientIP: address.map { String($0.prefix(64)) }, userAgent: request.headers[.userAgent],
            requestID: context.requestID)
        return try await RequestOrigin.$current.withValue(origin) { try await next(request, context) }
    }

    static func clientNetwork(peer: String?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> String {
        clientNetwork(of: clientAddress(peer: peer, forwardedFor: forwardedFor, trustedProxies: trustedProxies))
    }

    static func clientNetwork(of address: String?) -> String {
        guard let address else { return "unknown" }
        return network(of: address) ?? "unparsed:\(address.prefix(64))"
    }

    /// The client's address: the peer, or the right-most forwarded hop that is no trusted proxy
    /// (the left-most when every hop is one); nil when the peer is unknown.
    static func clientAddress(peer: String?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> String? {
        guard let peer else { return nil }
        func trusted(_ ip: String) -> Bool { trustedProxies.contains { $0.contains(ip) } }
        guard trusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map {
            host(ofForwardedEntry: $0.trimmingCharacters(in: .whitespaces))
        }
        for hop in hops.reversed() where !trusted(hop) { return hop }
        return hops.first ?? peer
    }

    /// The bucket name of an address: dotted IPv4 (IPv4-mapped IPv6 included), or the /64 of
    /// an IPv6 address; nil when `text` is no address.
    static func network(of text: String) -> String? {
        guard let bytes = IPNetwork.bytes(of: text) else { return nil }
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 8, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }
        return groups.joined(separator: ":") + "::/64"
    }

    /// An `X-Forwarded-For` entry without brackets or port: `1.2.3.4:5678` → `1.2.3.4`,
    /// `[2001:db8::1]:443` → `2001:db8::1`; a bare IPv6 address is left as it is.
    static func host(ofForwardedEntry entry: String) -> String {
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
            return String(entry[entry.index(after: entry.startIndex)..<close])
        }
        if entry.utf8.count(where: { $0 == UInt8(ascii: ":") }) == 1, let colon = entry.firstIndex(of: ":") {
            return String(entry[..<colon])
        }
        return entry
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
