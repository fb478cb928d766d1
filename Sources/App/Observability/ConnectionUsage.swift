import NIOConcurrencyHelpers

/// Counts database connections leased from the pool right now, for the
/// `db_connections_in_use` gauge. Every store operation leases exactly one connection for
/// its duration, so counting around them counts the pool's busy connections.
final class ConnectionUsage: Sendable {
    private let inUse = NIOLockedValueBox(0)
    private let metrics: ServiceMetrics?

    init(metrics: ServiceMetrics?) {
        self.metrics = metrics
        metrics?.connectionsInUse(0)
    }

    @discardableResult
    func lease<Result>(_ body: () async throws -> Result) async rethrows -> Result {
        report(
            inUse.withLockedValue {
                $0 += 1; return $0
            })
        defer {
            report(
                inUse.withLockedValue {
                    $0 -= 1; return $0
                })
        }
        return try await body()
    }

    var current: Int { inUse.withLockedValue { $0 } }

    private func report(_ value: Int) {
        metrics?.connectionsInUse(value)
    }
}
