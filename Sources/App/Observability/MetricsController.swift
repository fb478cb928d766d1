import Foundation
import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text format. The outbox backlog is read at scrape time,
/// so it is exact for the whole database (every instance reports the same value). When the
/// database does not answer, the scrape still succeeds with the last known backlog: an
/// outage is when operators need the other metrics most.
struct MetricsController {
    let metrics: ServiceMetrics
    let outbox: any OutboxStore

    var endpoints: RouteCollection<BasicRequestContext> {
        let routes = RouteCollection(context: BasicRequestContext.self)
        routes.get("metrics") { _, _ in
            if let backlog = try? await outbox.backlog() {
                metrics.outboxBacklog(
                    pending: backlog.pending,
                    oldestAge: backlog.oldestCreatedAt.map { max(0, Date().timeIntervalSince($0)) } ?? 0
                )
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        return routes
    }
}
