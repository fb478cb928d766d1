import Hummingbird

/// `GET /.well-known/jwks.json`: the public keys other services verify access tokens with.
struct JWKSController {
    let keySet: JSONWebKeySet

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("jwks.json") { request, context in
            var response = try keySet.response(from: request, context: context)
            // Verifiers may cache briefly; rotation adds the new key before it signs anything.
            response.headers[.cacheControl] = "public, max-age=300"
            return response
        }
        return routes
    }
}

extension JSONWebKeySet: ResponseEncodable {}
