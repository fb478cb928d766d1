import App
import NIOConcurrencyHelpers

/// Records what it sends; optionally fails a given number of times first.
final class CapturingEmailTransport: EmailTransport {
    struct Failure: EmailTransportFailure {
        var safeDescription: String { "simulated provider outage" }
    }

    private let state: NIOLockedValueBox<(sent: [EmailMessage], failuresLeft: Int)>

    init(failFirst failures: Int = 0) {
        state = NIOLockedValueBox((sent: [], failuresLeft: failures))
    }

    var name: String { "capture" }

    func send(_ message: EmailMessage) async throws {
        try state.withLockedValue { state in
            if state.failuresLeft > 0 {
                state.failuresLeft -= 1
                throw Failure()
            }
            state.sent.append(message)
        }
    }

    var sent: [EmailMessage] { state.withLockedValue { $0.sent } }

    func sent(to address: String) -> [EmailMessage] {
        sent.filter { $0.to.lowercased() == address.lowercased() }
    }
}
