import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Tracing

/// What an email provider's HTTP API answered, read with bounds.
struct ProviderResponse: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: ByteBuffer

    /// Sends `request` on `client`, reading at most 64 KiB of the answer, within `timeout`.
    /// Connection failures and timeouts are transient failures.
    ///
    /// Traced as an HTTP client span (method, server, the URL without its query, status code);
    /// neither headers (the credentials) nor bodies (the message) are recorded.
    static func fetch(
        _ request: HTTPClientRequest, on client: HTTPClient, timeout: Duration, provider: String
    ) async throws -> ProviderResponse {
        try await Spans.run(request.method.rawValue, kind: .client) { span in
            if let span, var url = URLComponents(string: request.url) {
                url.query = nil
                url.fragment = nil
                url.user = nil
                url.password = nil
                span.attributes["http.request.method"] = request.method.rawValue
                span.attributes["server.address"] = url.host
                if let port = url.port ?? (url.scheme == "https" ? 443 : url.scheme == "http" ? 80 : nil) {
                    span.attributes["server.port"] = port
                }
                span.attributes["url.full"] = url.string
                span.attributes["email.provider"] = provider
            }
            let response = try await fetchUntraced(request, on: client, timeout: timeout, provider: provider)
            if let span {
                span.attributes["http.response.status_code"] = response.status
                if response.status >= 400 {
                    span.attributes["error.type"] = "\(response.status)"
                    span.setStatus(SpanStatus(code: .error))
                }
            }
            return response
        }
    }

    private static func fetchUntraced(
        _ request: HTTPClientRequest, on client: HTTPClient, timeout: Duration, provider: String
    ) async throws -> ProviderResponse {
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            return ProviderResponse(status: Int(response.status.code), headers: response.headers, body: body)
        } catch let error as HTTPClientError {
            let what = error == .deadlineExceeded || error == .readTimeout ? "did not answer in time" : "\(error)"
            throw EmailDeliveryError(.transient, "\(provider): \(what.prefix(200))")
        } catch let error as EmailDeliveryError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw EmailDeliveryError(
                .transient, "\(provider): connection failed (\(String(describing: type(of: error))))")
        }
    }

    /// The provider's `Retry-After`: seconds or an HTTP date, at most an hour.
    var retryAfter: Duration? {
        guard let raw = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(raw), seconds >= 0 { return .seconds(min(seconds, 3600)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: raw) else { return nil }
        return .seconds(min(max(0, Int(date.timeIntervalSinceNow.rounded(.up))), 3600))
    }

    /// The body as a JSON object, when it is one.
    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
    }
}
