import Logging
import ServiceLifecycle

/// A database holding the service's state: its stores, its schema and its lifecycle.
public protocol Database: Sendable {
    var accounts: any AccountStore { get }
    var outbox: any OutboxStore { get }
    var rateLimits: any RateLimitStore { get }
    /// Runs alongside the application (e.g. the connection pool); nil when nothing needs to run.
    var service: (any Service)? { get }
    /// Applies pending migrations; safe when several instances call it at once.
    func migrate(logger: Logger) async throws
    /// Whether the database answers and every known migration is applied.
    func isReady() async -> Bool
}
