/// Why a transport could not hand an email to its provider, classified by what the outbox
/// should do about it.
///
/// The description is safe to store and log: it names the provider's status and error code,
/// never the message, its link or its recipient.
public struct EmailDeliveryError: EmailTransportFailure, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The provider refused this message for good (a rejected recipient, a bad request):
        /// retrying cannot help, so the email is marked failed at once.
        case permanent
        /// The provider or the network may do better later (4xx replies, 429, 5xx, timeouts,
        /// dropped connections): retried with backoff.
        case transient
        /// The service is set up wrongly (credentials refused, TLS trust, a sender the provider
        /// does not accept for this account): nothing will be delivered until an operator acts.
        /// Retried without using up the email's attempts, and reported loudly.
        case configuration
    }

    public let kind: Kind
    public let safeDescription: String
    /// How long the provider asked us to wait (`Retry-After`), when it said.
    public let retryAfter: Duration?

    public init(_ kind: Kind, _ safeDescription: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.safeDescription = safeDescription
        self.retryAfter = retryAfter
    }

    public var description: String { "\(kind.rawValue): \(safeDescription)" }
}
