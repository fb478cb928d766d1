import Foundation
import Hummingbird
import NIOCore

/// `GET /openapi.json`: the OpenAPI 3.1 description of this API, kept in the repository as
/// `Sources/App/Resources/openapi.json` and checked in CI (spec validation, and schemathesis
/// against a live server).
struct OpenAPIController {
    let document: ByteBuffer

    init() throws {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw StartupError(description: "the OpenAPI document is missing from the App module's resources")
        }
        document = ByteBuffer(bytes: Array(try Data(contentsOf: url)))
    }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        let document = self.document
        routes.get("openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: ResponseBody(byteBuffer: document)
            )
        }
        return routes
    }
}
