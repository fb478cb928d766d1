import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// The drain phase of a graceful shutdown: between SIGTERM and the server closing its
/// listener, `/health/ready` answers 503 so the load balancer stops sending new requests, and
/// every response says `Connection: close` so clients and the load balancer stop reusing kept
/// connections; a POST that arrives meanwhile is still served. Then the server stops as before
/// (in-flight requests finish, idle connections are closed).
public final class ShutdownDrain: Sendable {
    private let draining = NIOLockedValueBox(false)

    public init() {}

    public var isDraining: Bool { draining.withLockedValue { $0 } }

    func begin() {
        draining.withLockedValue { $0 = true }
    }
}

/// Waits for the graceful shutdown, then drains for `grace` before returning, which lets the
/// service group go on to stop the application. Run it after the application in one group:
/// the group shuts services down in reverse order.
public struct DrainService: Service {
    let drain: ShutdownDrain
    let grace: Duration
    let logger: Logger

    public init(drain: ShutdownDrain, grace: Duration, logger: Logger) {
        self.drain = drain
        self.grace = grace
        self.logger = logger
    }

    public func run() async throws {
        // Returns when the graceful shutdown begins (or throws when cancelled: stop at once).
        try await gracefulShutdown()
        drain.begin()
        logger.notice(
            "draining before shutdown",
            metadata: ["event": "server.draining", "grace_seconds": "\(grace.components.seconds)"]
        )
        // One sleep per process lifetime, not a request deadline: the plain sleep is fine here.
        try? await Task.sleep(for: grace)
    }
}

/// Adds `Connection: close` to every response while draining.
struct DrainMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let drain: ShutdownDrain

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        if drain.isDraining { response.headers[.connection] = "close" }
        return response
    }
}
