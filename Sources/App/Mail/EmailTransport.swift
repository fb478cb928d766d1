/// Delivers an email to a provider. Called only by the outbox worker, never by a request.
///
/// A thrown error means "not delivered": the worker retries later. Its description is stored
/// with the outbox row, so it must not contain the message body.
public protocol EmailTransport: Sendable {
    /// A short name for logs and metrics, e.g. `console`.
    var name: String { get }
    func send(_ message: EmailMessage) async throws
}
