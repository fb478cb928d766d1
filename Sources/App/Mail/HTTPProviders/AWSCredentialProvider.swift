import AsyncHTTPClient
import Foundation
import NIOCore

/// Hands out AWS credentials: fixed ones from the environment, or the task role's from the
/// ECS container credentials endpoint, fetched on first use and again five minutes before
/// they expire (concurrent callers share one fetch).
actor AWSCredentialProvider {
    private let source: AWSCredentialSource
    private let client: HTTPClient
    private var cached: AWSCredentials?
    private var refreshing: Task<AWSCredentials, any Error>?

    /// Refresh this long before expiry, as the AWS SDKs do.
    static let refreshMargin: TimeInterval = 300

    init(source: AWSCredentialSource, client: HTTPClient) {
        self.source = source
        self.client = client
    }

    func credentials(forceRefresh: Bool = false) async throws -> AWSCredentials {
        guard case .container(let url, let token) = source else {
            if case .fixed(let credentials) = source { return credentials }
            fatalError("unreachable")
        }
        if !forceRefresh, let cached, let expiration = cached.expiration,
            expiration.timeIntervalSinceNow > Self.refreshMargin
        {
            return cached
        }
        if let refreshing { return try await refreshing.value }
        let client = self.client
        let task = Task { try await Self.fetch(url: url, token: token, client: client) }
        refreshing = task
        defer { refreshing = nil }
        do {
            let fresh = try await task.value
            cached = fresh
            return fresh
        } catch {
            // The endpoint hiccuped: credentials that have not expired yet still work.
            if let cached, let expiration = cached.expiration, expiration > Date() { return cached }
            throw error
        }
    }

    private static func fetch(url: URL, token: String?, client: HTTPClient) async throws -> AWSCredentials {
        var request = HTTPClientRequest(url: url.absoluteString)
        if let token { request.headers.add(name: "Authorization", value: token) }
        let response = try await ProviderResponse.fetch(
            request, on: client, timeout: .seconds(5), provider: "AWS container credentials endpoint")
        guard response.status == 200, let json = response.json,
            let keyID = json["AccessKeyId"] as? String, let secret = json["SecretAccessKey"] as? String
        else {
            throw EmailDeliveryError(
                .transient, "AWS container credentials endpoint answered HTTP \(response.status) without credentials")
        }
        var expiration: Date?
        if let raw = json["Expiration"] as? String {
            expiration = ISO8601DateFormatter().date(from: raw)
        }
        return AWSCredentials(
            accessKeyID: keyID, secretAccessKey: secret, sessionToken: json["Token"] as? String,
            expiration: expiration ?? Date().addingTimeInterval(600))
    }
}
