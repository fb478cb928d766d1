import App
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("The healthcheck subcommand's probe")
struct HealthProbeTests {
    @Test("it asks the server's own listener: wildcard binds over loopback, HTTPS when TLS is configured")
    func target() throws {
        #expect(try HealthProbe(environment: [:]).url == "http://127.0.0.1:8080/health/ready")
        #expect(
            try HealthProbe(environment: ["HOST": "0.0.0.0", "PORT": "9000"]).url
                == "http://127.0.0.1:9000/health/ready")
        #expect(try HealthProbe(environment: ["HOST": "::"]).url == "http://[::1]:8080/health/ready")
        #expect(try HealthProbe(environment: ["HOST": "[::]"]).url == "http://[::1]:8080/health/ready")
        #expect(try HealthProbe(environment: ["HOST": "fd00::5"]).url == "http://[fd00::5]:8080/health/ready")
        #expect(
            try HealthProbe(environment: ["HOST": "10.0.0.7"], path: "/health/live").url
                == "http://10.0.0.7:8080/health/live")
        let tls = try HealthProbe(environment: ["TLS_CERT_FILE": "/c.pem", "TLS_KEY_FILE": "/k.pem", "PORT": "8443"])
        #expect(tls.usesTLS)
        #expect(tls.url == "https://127.0.0.1:8443/health/ready")
        #expect(throws: ConfigurationError.self) { try HealthProbe(environment: ["PORT": "http"]) }
    }

    @Test("ready only on a 2xx answer; a 503, a 404 or a closed port is not ready")
    func verdicts() async throws {
        let router = Router()
        router.get("/health/ready") { _, _ in HTTPResponse.Status.ok }
        router.get("/draining") { _, _ in HTTPResponse.Status.serviceUnavailable }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = "\(client.port!)"
            let ready = try HealthProbe(environment: ["PORT": port])
            #expect(await ready.run(timeout: .seconds(5)) == .ready)
            let draining = try HealthProbe(environment: ["PORT": port], path: "/draining")
            #expect(await draining.run(timeout: .seconds(5)) == .notReady(status: 503))
            let missing = try HealthProbe(environment: ["PORT": port], path: "/missing")
            #expect(await missing.run(timeout: .seconds(5)) == .notReady(status: 404))
        }
        // Nothing listens on port 1 of the loopback interface.
        let closed = try HealthProbe(environment: ["PORT": "1"])
        let outcome = await closed.run(timeout: .seconds(2))
        #expect(!outcome.isReady)
        guard case .unreachable = outcome else {
            Issue.record("expected unreachable, got \(outcome)")
            return
        }
    }
}
