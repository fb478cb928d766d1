import App
import NIOConcurrencyHelpers

/// A transport whose every send runs `behaviour`; counts sends and the most in flight at once.
final class ScriptedEmailTransport: EmailTransport {
    private struct State {
        var inFlight = 0
        var maxInFlight = 0
        var attempts = 0
    }

    private let state = NIOLockedValueBox(State())
    private let behaviour: @Sendable (EmailMessage, Int) async throws -> Void

    /// `behaviour` gets the message and the number of this send (1 for the first).
    init(_ behaviour: @escaping @Sendable (EmailMessage, Int) async throws -> Void) {
        self.behaviour = behaviour
    }

    var name: String { "scripted" }

    func send(_ message: EmailMessage) async throws {
        let number = state.withLockedValue { state -> Int in
            state.inFlight += 1
            state.maxInFlight = max(state.maxInFlight, state.inFlight)
            state.attempts += 1
            return state.attempts
        }
        defer { state.withLockedValue { $0.inFlight -= 1 } }
        try await behaviour(message, number)
    }

    var maxInFlight: Int { state.withLockedValue { $0.maxInFlight } }
    var attempts: Int { state.withLockedValue { $0.attempts } }
}
