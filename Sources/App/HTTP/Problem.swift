import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An RFC 9457 problem detail, the body of every error response.
///
/// `code` is the stable machine-readable identifier clients switch on; `type` is a relative
/// URI made from it. Nothing in a problem ever comes from an internal error message.
public struct Problem: Error, Sendable, Encodable {
    public let type: String
    public let title: String
    public let status: Int
    public let detail: String
    public let code: String
    /// For validation problems: every field and rule that failed.
    public let errors: [FieldViolation]?
    /// Extra headers for the response, e.g. `Allow`.
    public var headers: HTTPFields = [:]

    public init(
        status: HTTPResponse.Status, code: String, title: String, detail: String, errors: [FieldViolation]? = nil
    ) {
        self.type = "/problems/\(code)"
        self.title = title
        self.status = status.code
        self.detail = detail
        self.code = code
        self.errors = errors
    }

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, errors
    }

    public static let contentType = "application/problem+json"

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public func response() -> Response {
        var headers = self.headers
        headers[.contentType] = Self.contentType
        let data = (try? Self.encoder.encode(self)) ?? Data(#"{"status":500}"#.utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension Problem {
    static let internalError = Problem(
        status: .internalServerError,
        code: "internal_error",
        title: "Internal server error",
        detail: "The request could not be completed. It has been logged; try again later."
    )

    static let notFound = Problem(
        status: .notFound,
        code: "not_found",
        title: "Not found",
        detail: "There is no resource at this path."
    )

    static func validation(_ violations: [FieldViolation]) -> Problem {
        Problem(
            status: .unprocessableContent,
            code: "validation_failed",
            title: "Validation failed",
            detail:
                "The request body breaks \(violations.count == 1 ? "a rule" : "\(violations.count) rules"); see errors.",
            errors: violations
        )
    }
}
