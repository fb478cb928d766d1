import Foundation
import Hummingbird
import Logging
import NIOCore

/// The per-request context: Hummingbird's core storage plus the request id.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed in `X-Request-ID` and attached to every log line of the request.
    public var requestID: String
    /// The TCP peer; the client address when no proxy is in front.
    public let remoteAddress: SocketAddress?
    /// The client's network as rate limits count it (an IPv4 address or an IPv6 /64); set by
    /// `ClientAddressMiddleware`.
    public var clientNetwork: String = "unknown"
    /// How long the body may take to arrive; set from `REQUEST_TIMEOUT` by `ClientAddressMiddleware`.
    public var bodyTimeout: Duration = .seconds(10)
    /// Set by `AuthenticationMiddleware` on protected routes.
    public var identity: Identity?

    /// JSON bodies are small; anything larger is refused with 413 before it is parsed.
    public static let maxBodySize = 16 * 1024

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { Self.maxBodySize }
}

extension AppRequestContext {
    /// Sorted keys: the same value always encodes to the same bytes, which the registration
    /// answer relies on to be identical for every address.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
