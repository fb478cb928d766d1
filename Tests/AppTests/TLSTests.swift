import Foundation
import HummingbirdTesting
import Testing

@testable import App

@Suite("TLS")
struct TLSTests {
    /// A self-signed P-256 certificate for localhost, made with the openssl command.
    private func withCertificate(_ body: (String, String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let status = try Self.run(
            "openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-keyout", key, "-out", cert,
            ]
        ).status
        #expect(status == 0)
        try await body(cert, key)
    }

    /// Runs a command with no input; returns its exit status and output.
    private static func run(_ command: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [command] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Attempts a handshake with exactly one protocol version. The client's security level is
    /// lowered so that it really offers TLS 1.0 and 1.1: a refusal then comes from the server.
    private static func handshake(
        port: Int, version: String, cipher: String? = nil
    ) async throws -> (ok: Bool, output: String) {
        let arguments = [
            "s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost", "-\(version)",
            "-cipher", cipher ?? "DEFAULT:@SECLEVEL=0",
        ]
        let result = try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result { try Self.run("openssl", arguments) })
            }.start()
        }
        return (result.status == 0, result.output)
    }

    private func withTLSServer(minimum: String?, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withCertificate { cert, key in
            var environment = ["TLS_CERT_FILE": cert, "TLS_KEY_FILE": key, "DATABASE_URL": "sqlite:/tmp/unused.sqlite"]
            if let minimum { environment["TLS_MIN_VERSION"] = minimum }
            let http = try AppConfiguration(environment: environment).http
            try await TestEnvironment.with(.sqlite, configure: { $0.http = http }) { env in
                try await env.makeApplication().test(.live) { client in
                    try await body(try #require(client.port))
                }
            }
        }
    }

    @Test("TLS 1.0 and 1.1 are refused; TLS 1.2 and 1.3 are accepted, TLS 1.2 only with AEAD suites")
    func versions() async throws {
        try await withTLSServer(minimum: nil) { port in
            let tls10 = try await Self.handshake(port: port, version: "tls1")
            let tls11 = try await Self.handshake(port: port, version: "tls1_1")
            let tls12 = try await Self.handshake(port: port, version: "tls1_2")
            let tls13 = try await Self.handshake(port: port, version: "tls1_3")
            // A CBC suite is not offered by the server even when the client asks only for it.
            let cbc = try await Self.handshake(
                port: port, version: "tls1_2", cipher: "ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0")
            #expect(!tls10.ok)
            #expect(!tls11.ok)
            #expect(tls12.ok)
            #expect(tls12.output.contains("GCM") || tls12.output.contains("CHACHA20"))
            #expect(tls13.ok)
            #expect(!cbc.ok)
        }
    }

    @Test("TLS_MIN_VERSION=1.3 refuses TLS 1.2")
    func tls13Only() async throws {
        try await withTLSServer(minimum: "1.3") { port in
            let tls12 = try await Self.handshake(port: port, version: "tls1_2")
            let tls13 = try await Self.handshake(port: port, version: "tls1_3")
            #expect(!tls12.ok)
            #expect(tls13.ok)
        }
    }

    @Test("with TLS configured, responses carry Strict-Transport-Security")
    func hsts() throws {
        var settings = HTTPSettings()
        #expect(!settings.servesHTTPS)
        settings.trustProxyTLS = true
        #expect(settings.servesHTTPS)
    }

    @Test("production refuses plain HTTP unless TLS or a trusted TLS proxy is configured")
    func productionNeedsTLS() {
        #expect(throws: ConfigurationError.self) {
            try HTTPSettings.read(EnvironmentReader(values: [:]), environment: .production)
        }
        #expect(throws: Never.self) {
            try HTTPSettings.read(EnvironmentReader(values: ["TRUST_PROXY_TLS": "true"]), environment: .production)
        }
    }
}
