import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a request body as one JSON object, enforcing media type and size first.
enum JSONRequestBody {
    static func object(
        from request: Request, context: AppRequestContext
    ) async throws(RequestBodyError) -> [String: JSONValue] {
        guard isJSON(request.headers[.contentType]) else { throw .unsupportedMediaType }
        let limit = context.maxUploadSize
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .tooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .tooLarge(limit: limit)
        } catch {
            throw .malformed
        }
        let value: JSONValue
        do {
            value = try StrictJSONParser.parse(Array(buffer: buffer))
        } catch .duplicateMember(let name) {
            throw .duplicateMember(name)
        } catch .tooDeep {
            throw .tooDeep
        } catch {
            throw .malformed
        }
        guard case .object(let object) = value else { throw .notAnObject }
        return object
    }

    /// `application/json` or any `+json` type; a charset, if given, must be UTF-8.
    static func isJSON(_ header: String?) -> Bool {
        guard let header else { return false }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let mediaType = parts.first,
            mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
        else {
            return false
        }
        for parameter in parts.dropFirst() where parameter.hasPrefix("charset=") {
            let charset = parameter.dropFirst("charset=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if charset != "utf-8" && charset != "utf8" { return false }
        }
        return true
    }
}
