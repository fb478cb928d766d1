import Foundation
import Hummingbird

/// A JSON answer encoded once, for fixed bodies on hot paths: the same bytes, content type
/// and length as encoding it per request with `AppRequestContext.responseEncoder`.
struct PreencodedJSON: Sendable {
    let body: ByteBuffer

    init(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            body = ByteBuffer(bytes: try encoder.encode(value))
        } catch {
            preconditionFailure("a fixed answer must encode: \(error)")
        }
    }

    func response(status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8",
            .contentLength: String(body.readableBytes),
        ]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
