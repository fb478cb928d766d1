/// Which email transport the outbox worker sends through.
public enum EmailTransportKind: String, Sendable {
    /// Prints every email to standard output; for development.
    case console
}
