import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Reads request bodies: JSON objects for the API, url-encoded forms for the built-in pages;
/// media type, size and time are enforced first.
enum BodyReader {
    static func jsonObject(
        from request: Request, context: AppRequestContext
    ) async throws(RequestBodyError) -> [String: JSONValue] {
        guard isJSON(request.headers[.contentType]) else { throw .unsupportedMediaType }
        let buffer = try await bytes(of: request, context: context)
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

    /// The whole body, at most `maxUploadSize` bytes, read within the request timeout so a
    /// client trickling its body cannot hold the request open.
    static func bytes(of request: Request, context: AppRequestContext) async throws(RequestBodyError) -> ByteBuffer {
        let limit = context.maxUploadSize
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .tooLarge(limit: limit)
        }
        let body = request.body
        do {
            return try await withTimeout(context.bodyTimeout) { try await body.collect(upTo: limit) }
        } catch is NIOTooManyBytesError {
            throw .tooLarge(limit: limit)
        } catch is TimeoutError {
            throw .timeout
        } catch {
            throw .malformed
        }
    }

    /// Whether the body is an HTML form post (`application/x-www-form-urlencoded`).
    static func isForm(_ request: Request) -> Bool {
        request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") ?? false
    }

    /// The fields of a form post; nil when they cannot be decoded as `Fields`.
    static func form<Fields: Decodable>(
        _ type: Fields.Type, from request: Request, context: AppRequestContext
    )
        async throws(RequestBodyError) -> Fields?
    {
        let body = try await bytes(of: request, context: context)
        return try? URLEncodedFormDecoder().decode(Fields.self, from: String(buffer: body))
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
