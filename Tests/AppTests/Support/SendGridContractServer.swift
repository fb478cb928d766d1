import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers

/// A stand-in for SendGrid's v3 Mail Send API (`POST /v3/mail/send`) that checks each request
/// against the published contract (bearer key, JSON content type, the body's schema: one or
/// more personalizations with recipients, `from`, `subject`, non-empty `content` with
/// text/plain first, no reserved custom headers, no unknown members) and answers as SendGrid
/// does: 202 with `X-Message-Id`, or 400 with `errors`. A recipient `status-NNN@…` makes it
/// answer 400, 401, 429 (with `Retry-After: 7`) or 500 instead.
final class SendGridContractServer: Sendable {
    static let apiKey = "SG.test-key.0123456789"
    static let reservedHeaders: Set<String> = [
        "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to",
        "from", "subject", "reply-to", "cc", "bcc",
    ]
    static let knownMembers: Set<String> = [
        "personalizations", "from", "reply_to", "reply_to_list", "subject", "content", "attachments", "template_id",
        "headers", "categories", "custom_args", "send_at", "batch_id", "asm", "ip_pool_name", "mail_settings",
        "tracking_settings",
    ]

    /// Requests that met the contract and were accepted.
    private let acceptedBodies = NIOLockedValueBox<[Data]>([])

    var accepted: [[String: Any]] {
        acceptedBodies.withLockedValue { $0 }.compactMap {
            (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any]
        }
    }
    /// Contract violations found, as `errors` messages; a correct client causes none.
    let violations = NIOLockedValueBox<[String]>([])

    /// Runs the server on a loopback port for the duration of `body`, which gets its base URL.
    func run<Result: Sendable>(_ body: @Sendable (URL) async throws -> Result) async throws -> Result {
        let router = Router()
        router.post("/v3/mail/send") { request, context -> Response in
            try await self.handle(request, context: context)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            try await body(URL(string: "http://127.0.0.1:\(client.port!)")!)
        }
    }

    private func handle(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard request.headers[.authorization] == "Bearer \(Self.apiKey)" else {
            return answer(.unauthorized, errors: ["The provided authorization grant is invalid, expired, or revoked"])
        }
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            return reject(["Content-Type should be application/json."])
        }
        let data = Data(buffer: try await request.body.collect(upTo: 30 * 1024 * 1024))
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return reject(["Bad Request: the body is not a JSON object"])
        }
        let problems = Self.check(body)
        guard problems.isEmpty else { return reject(problems) }
        let recipient =
            ((body["personalizations"] as? [[String: Any]])?.first?["to"] as? [[String: Any]])?.first?["email"]
            as? String ?? ""
        if recipient.hasPrefix("status-") {
            switch recipient.dropFirst(7).prefix(3) {
            case "400":
                return answer(
                    .badRequest, errors: ["The from email does not contain a valid address."], field: "from.email")
            case "401": return answer(.unauthorized, errors: ["Permission denied, wrong credentials"])
            case "429":
                var response = answer(.tooManyRequests, errors: ["too many requests"])
                response.headers[.retryAfter] = "7"
                return response
            default: return answer(.internalServerError, errors: ["internal error"])
            }
        }
        acceptedBodies.withLockedValue { $0.append(data) }
        var response = Response(status: .accepted)
        response.headers[HTTPField.Name("X-Message-Id")!] = UUID().uuidString
        return response
    }

    private func reject(_ problems: [String]) -> Response {
        violations.withLockedValue { $0 += problems }
        return answer(.badRequest, errors: problems)
    }

    private func answer(_ status: HTTPResponse.Status, errors: [String], field: String? = nil) -> Response {
        let body: [String: Any] = [
            "errors": errors.map { ["message": $0, "field": field.map { $0 as Any } ?? NSNull(), "help": NSNull()] }
        ]
        let data = (try? JSONSerialization.data(withJSONObject: body)) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: data))
        )
    }

    /// The schema of the v3 body, as far as this service uses it.
    static func check(_ body: [String: Any]) -> [String] {
        var problems: [String] = []
        for key in body.keys where !knownMembers.contains(key) { problems.append("unknown member \(key)") }
        let isAddress = { (value: Any?) -> Bool in
            guard let object = value as? [String: Any], let email = object["email"] as? String else { return false }
            return email.contains("@") && (object["name"] == nil || object["name"] is String)
        }
        if let personalizations = body["personalizations"] as? [[String: Any]],
            (1...1000).contains(personalizations.count)
        {
            for personalization in personalizations {
                guard let to = personalization["to"] as? [Any], (1...1000).contains(to.count), to.allSatisfy(isAddress)
                else {
                    problems.append("personalizations.to must hold 1 to 1000 addresses")
                    continue
                }
            }
        } else {
            problems.append("personalizations must be an array of 1 to 1000 objects")
        }
        if !isAddress(body["from"]) { problems.append("from.email is required") }
        if let replyTo = body["reply_to"], !isAddress(replyTo) { problems.append("reply_to must be an address") }
        if (body["subject"] as? String)?.isEmpty != false { problems.append("subject is required") }
        if let content = body["content"] as? [[String: Any]], !content.isEmpty {
            for part in content {
                if (part["type"] as? String)?.isEmpty != false || (part["value"] as? String)?.isEmpty != false {
                    problems.append("content entries need a type and a non-empty value")
                }
            }
            let types = content.compactMap { $0["type"] as? String }
            if let plain = types.firstIndex(of: "text/plain"), plain != 0 {
                problems.append("text/plain must be the first content entry")
            }
        } else {
            problems.append("content must be a non-empty array")
        }
        if let headers = body["headers"] {
            if let headers = headers as? [String: Any] {
                for (name, value) in headers {
                    if reservedHeaders.contains(name.lowercased()) { problems.append("header \(name) is reserved") }
                    if !(value is String) { problems.append("header \(name) must be a string") }
                }
            } else {
                problems.append("headers must be an object")
            }
        }
        return problems
    }
}
