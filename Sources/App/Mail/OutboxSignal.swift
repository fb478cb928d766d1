/// Wakes the outbox worker as soon as a transaction has queued an email, so delivery does
/// not wait for the next poll. Only an optimisation: the worker also polls, which is what
/// picks up emails queued by other instances.
public struct OutboxSignal: Sendable {
    let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func notify() {
        continuation.yield()
    }
}
