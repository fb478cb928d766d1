/// Where the request being handled came from, for the audit trail and the session list: set
/// once per request by `ClientAddressMiddleware` as a task-local value, so the services that
/// record events need no extra parameter on every call, and work done outside a request (the
/// CLI, housekeeping) records none.
public struct RequestOrigin: Sendable, Equatable {
    /// The client's address as the service trusts it (see `ClientAddressMiddleware`).
    public let clientIP: String?
    /// The `User-Agent` header, cut to `maxUserAgentLength` and stripped of control characters.
    public let userAgent: String?
    public let requestID: String?

    public static let maxUserAgentLength = 256

    public init(clientIP: String?, userAgent: String?, requestID: String?) {
        self.clientIP = clientIP
        self.userAgent = userAgent.map(Self.clean).flatMap { $0.isEmpty ? nil : $0 }
        self.requestID = requestID
    }

    static func clean(_ value: String) -> String {
        String(
            String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
                .prefix(maxUserAgentLength))
    }

    @TaskLocal public static var current: RequestOrigin?
}
