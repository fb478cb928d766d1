import Hummingbird
import Logging

/// The metrics on a listener of their own (`METRICS_HOST`, `METRICS_PORT`), never on the
/// public port: the counters tell which outcomes happen (a registration of an address that
/// already has an account moves `registrations_total{outcome="existing"}`), so on the public
/// listener they would undo the identical answers that keep accounts from being enumerated.
/// It serves only `GET /metrics`; anything else is 404.
public func buildMetricsApplication(
    metrics: ServiceMetrics, outbox: any OutboxStore, host: String, port: Int, logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    router.addRoutes(MetricsController(metrics: metrics, outbox: outbox).endpoints)
    var logger = logger
    logger[metadataKey: "listener"] = "metrics"
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
        logger: logger
    )
}
