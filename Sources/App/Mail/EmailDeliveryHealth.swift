import Foundation
import Logging
import NIOConcurrencyHelpers

/// Whether email can leave this instance, as far as the last deliveries tell: a transport
/// whose provider refuses our configuration (credentials, TLS trust) delivers nothing until an
/// operator acts, so it is shown in `/health/ready`'s detail and the
/// `email_transport_configuration_error` gauge, and logged at error level once a minute.
/// While it lasts the worker pauses between attempts instead of burning every email's retries.
public final class EmailDeliveryHealth: Sendable {
    private struct State {
        var problem: String?
        var since: Date?
        var lastLogged: Date?
        var pausedUntil: Date?
    }

    private let state = NIOLockedValueBox(State())
    /// How long the worker stops claiming after a configuration failure; then it tries again.
    let pause: TimeInterval
    /// At most one error line per this interval while the problem lasts.
    let logInterval: TimeInterval

    public init(pause: TimeInterval = 30, logInterval: TimeInterval = 60) {
        self.pause = pause
        self.logInterval = logInterval
    }

    /// The configuration problem, if the last attempt found one.
    public var configurationProblem: String? { state.withLockedValue { $0.problem } }

    /// How long the worker should still wait before claiming again.
    var pauseRemaining: TimeInterval? {
        state.withLockedValue { state in
            guard let until = state.pausedUntil else { return nil }
            let remaining = until.timeIntervalSinceNow
            return remaining > 0 ? remaining : nil
        }
    }

    func recordConfigurationFailure(_ problem: String, transport: String, logger: Logger, metrics: ServiceMetrics) {
        let now = Date()
        let shouldLog = state.withLockedValue { state -> Bool in
            state.problem = problem
            if state.since == nil { state.since = now }
            state.pausedUntil = now.addingTimeInterval(pause)
            guard let last = state.lastLogged, now.timeIntervalSince(last) < logInterval else {
                state.lastLogged = now
                return true
            }
            return false
        }
        metrics.emailConfigurationError(transport: transport, present: true)
        if shouldLog {
            logger.error(
                "email transport is misconfigured: nothing will be delivered until this is fixed",
                metadata: [
                    "event": "email.transport_misconfigured", "transport": "\(transport)", "error": "\(problem)",
                ]
            )
        }
    }

    func recordDelivery(transport: String, logger: Logger, metrics: ServiceMetrics) {
        let recovered = state.withLockedValue { state -> Bool in
            defer { state = State() }
            return state.problem != nil
        }
        if recovered {
            metrics.emailConfigurationError(transport: transport, present: false)
            logger.notice(
                "email transport works again",
                metadata: ["event": "email.transport_recovered", "transport": "\(transport)"])
        }
    }
}
