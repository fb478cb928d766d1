/// Delivers an email to a provider. Called only by the outbox worker, never by a request.
///
/// A thrown error means "not delivered": the worker retries later or gives up, as an
/// `EmailDeliveryError` says (other errors count as transient). Its description is stored
/// with the outbox row, so it must not contain the message body.
public protocol EmailTransport: Sendable {
    /// A short name for logs and metrics, e.g. `console`.
    var name: String { get }
    func send(_ message: EmailMessage) async throws
    /// Checks at start-up that the provider can be reached with the configured settings.
    func check() async throws
    /// Closes kept connections; called once when the worker stops.
    func shutdown() async
}

extension EmailTransport {
    public func check() async throws {}
    public func shutdown() async {}
}
