import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// The `healthcheck` subcommand's probe: asks this instance's own listener whether it is ready.
///
/// A container image has no curl, and an orchestrator's health check (Docker's `HEALTHCHECK`,
/// the Fargate container health check) runs a command inside the container. The probe reads the
/// same `HOST`, `PORT` and `TLS_CERT_FILE` the server does, so it finds the listener wherever the
/// server put it, and it reads nothing else: a health check must not fail on an unrelated setting.
public struct HealthProbe: Sendable {
    /// The address the probe asks, derived from the server's own settings.
    public let url: String
    /// Set when the server speaks HTTPS itself; the probe then skips certificate verification,
    /// since it talks to its own process over loopback and the certificate names the public host.
    public let usesTLS: Bool

    public init(environment: [String: String], path: String = "/health/ready") throws(ConfigurationError) {
        let env = EnvironmentReader(values: environment)
        let port = try env.integer("PORT", default: 8080, range: 1...65535)
        usesTLS = env.string("TLS_CERT_FILE") != nil && env.string("TLS_KEY_FILE") != nil
        url =
            "\(usesTLS ? "https" : "http")://\(Self.loopbackHost(for: env.string("HOST", default: "127.0.0.1"))):\(port)\(path)"
    }

    /// A wildcard bind address is reached over loopback; IPv6 literals go in brackets.
    static func loopbackHost(for host: String) -> String {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        switch bare {
        case "0.0.0.0", "": return "127.0.0.1"
        case "::": return "[::1]"
        default: return bare.contains(":") ? "[\(bare)]" : bare
        }
    }

    /// The probe's verdict: ready only on a 2xx answer within the timeout.
    public enum Outcome: Sendable, Equatable {
        case ready
        case notReady(status: Int)
        case unreachable(reason: String)

        public var isReady: Bool { self == .ready }

        public var description: String {
            switch self {
            case .ready: "ready"
            case .notReady(let status): "not ready: HTTP \(status)"
            case .unreachable(let reason): "not ready: \(reason)"
            }
        }
    }

    public func run(timeout: Duration) async -> Outcome {
        var configuration = HTTPClient.Configuration()
        if usesTLS {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            configuration.tlsConfiguration = tls
        }
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let outcome: Outcome
        do {
            var request = HTTPClientRequest(url: url)
            request.headers.add(name: "User-Agent", value: "registration-server-healthcheck")
            let response = try await client.execute(request, timeout: .init(timeout))
            outcome =
                (200..<300).contains(Int(response.status.code)) ? .ready : .notReady(status: Int(response.status.code))
        } catch {
            outcome = .unreachable(reason: Self.describe(error))
        }
        try? await client.shutdown()
        return outcome
    }

    /// Names the failure without internals: timed out, or the error's type.
    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return "no answer in time"
        }
        return "cannot connect (\(String(reflecting: type(of: error))))"
    }
}
