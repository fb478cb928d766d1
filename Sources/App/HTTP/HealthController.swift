import Hummingbird

/// `GET /health/live` (the process answers) and `GET /health/ready` (the database answers
/// and the schema is current): for load balancers and orchestrators.
struct HealthController {
    let database: any Database

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("live") { _, _ in Status(status: "ok") }
        routes.get("ready") { _, _ in
            guard await database.isReady() else {
                throw Problem(
                    status: .serviceUnavailable,
                    code: "not_ready",
                    title: "Not ready",
                    detail: "The database is unreachable or its schema is not up to date."
                )
            }
            return Status(status: "ready")
        }
        return routes
    }

    struct Status: ResponseEncodable {
        let status: String
    }
}
