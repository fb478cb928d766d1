import HTTPTypes
import Hummingbird
import NIOCore

/// Sets what the request's handlers need to know about its connection: the body timeout, and
/// the client's IP address for rate limits: the TCP peer, unless the peer is a
/// trusted proxy (`TRUSTED_PROXIES`); then the right-most `X-Forwarded-For` entry that is
/// not itself a trusted proxy. Entries a client wrote itself sit further left and are never
/// believed.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let trustedProxies: [IPNetwork]
    let bodyTimeout: Duration

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.bodyTimeout = bodyTimeout
        context.clientIP = Self.clientIP(
            peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[values: .xForwardedFor],
            trustedProxies: trustedProxies
        )
        return try await next(request, context)
    }

    static func clientIP(peer: String?, forwardedFor: [String], trustedProxies: [IPNetwork]) -> String {
        guard let peer else { return "unknown" }
        func trusted(_ ip: String) -> Bool { trustedProxies.contains { $0.contains(ip) } }
        guard trusted(peer) else { return peer }
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !trusted(hop) {
            // A malformed entry is as good as none: fall back to the proxy itself.
            return IPNetwork.bytes(of: hop) == nil ? peer : hop
        }
        return hops.first ?? peer
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
