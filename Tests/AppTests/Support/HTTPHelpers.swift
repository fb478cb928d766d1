import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

extension TestClientProtocol {
    /// POSTs a JSON body given as text (so tests can send exactly the bytes they mean).
    func postJSON(_ uri: String, _ json: String, contentType: String = "application/json") async throws -> TestResponse
    {
        try await execute(uri: uri, method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: json))
    }

    func register(email: String, password: String) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        return try await postJSON("/v1/register", String(decoding: body, as: UTF8.self))
    }

    /// The registration as a caller in a trace sends it: with a W3C `traceparent`.
    func register(email: String, password: String, traceParent: String) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        return try await execute(
            uri: "/v1/register", method: .post,
            headers: [.contentType: "application/json", HTTPField.Name("traceparent")!: traceParent],
            body: ByteBuffer(data: body))
    }

    func login(email: String, password: String) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password])
        return try await postJSON("/v1/login", String(decoding: body, as: UTF8.self))
    }

    func postJSON(_ uri: String, object: [String: String]) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try await postJSON(uri, String(decoding: body, as: UTF8.self))
    }

    func get(_ uri: String, bearer token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: uri, method: .get, headers: headers)
    }

    /// A JSON body (given as text) with a bearer token, or without one when `bearer` is nil.
    func sendJSON(
        _ uri: String, method: HTTPRequest.Method, bearer: String?, _ json: String
    ) async throws
        -> TestResponse
    {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: json))
    }

    func sendJSON(
        _ uri: String, method: HTTPRequest.Method, bearer: String?, object: [String: String]
    ) async throws
        -> TestResponse
    {
        let body = try JSONSerialization.data(withJSONObject: object)
        return try await sendJSON(uri, method: method, bearer: bearer, String(decoding: body, as: UTF8.self))
    }

    /// `POST /v1/verify {"token","password"}`: the answer to a password prompt.
    func verify(token: String, password: String) async throws -> TestResponse {
        try await postJSON("/v1/verify", object: ["token": token, "password": password])
    }

    func verify(token: String, accept: String = "application/json") async throws -> TestResponse {
        let escaped = token.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? token
        return try await execute(uri: "/v1/verify?token=\(escaped)", method: .get, headers: [.accept: accept])
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object; records an issue when it is not one.
    var json: [String: Any] {
        guard let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            Issue.record("response body is not a JSON object: \(text)")
            return [:]
        }
        return object
    }

    /// `(field, rule)` pairs of a validation problem.
    var violations: [String] {
        (json["errors"] as? [[String: Any]] ?? []).map {
            "\($0["field"] as? String ?? "?"):\($0["rule"] as? String ?? "?")"
        }
    }
}

/// Pulls the token out of a verification link in an email body.
func verificationToken(in text: String) -> String? {
    linkToken(in: text, after: "/v1/verify?token=")
}

/// Pulls the token out of a password reset link in an email body.
func resetToken(in text: String) -> String? {
    linkToken(in: text, after: "/v1/password/reset?token=")
}

func linkToken(in text: String, after prefix: String) -> String? {
    guard let range = text.range(of: prefix) else { return nil }
    return String(text[range.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
}

/// The access and refresh tokens of a token-pair answer (login, refresh, password change).
func tokenPair(_ response: TestResponse) throws -> (access: String, refresh: String) {
    let body = response.json
    return (try #require(body["access_token"] as? String), try #require(body["refresh_token"] as? String))
}
