import Hummingbird

/// `GET /health/live` (the process answers) and `GET /health/ready` (the database answers
/// and the schema is current): for load balancers and orchestrators.
struct HealthController {
    let database: any Database
    let email: EmailDeliveryHealth
    let drain: ShutdownDrain

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("live") { _, _ in Status(status: "ok", email: nil) }
        routes.get("ready") { _, _ in
            guard !drain.isDraining else {
                throw Problem(
                    status: .serviceUnavailable,
                    code: "shutting_down",
                    title: "Shutting down",
                    detail: "This instance is draining before it stops; send new requests elsewhere."
                )
            }
            guard await database.isReady() else {
                throw Problem(
                    status: .serviceUnavailable,
                    code: "not_ready",
                    title: "Not ready",
                    detail: "The database is unreachable or its schema is not up to date."
                )
            }
            // A misconfigured email provider does not make the instance unready (taking every
            // instance out of the load balancer would not help), but it is said here.
            if let problem = email.configurationProblem {
                return Status(status: "ready", email: "configuration_error", emailDetail: problem)
            }
            return Status(status: "ready", email: "ok")
        }
        return routes
    }

    struct Status: ResponseEncodable {
        let status: String
        var email: String?
        var emailDetail: String?

        enum CodingKeys: String, CodingKey {
            case status, email
            case emailDetail = "email_detail"
        }
    }
}
