import App
import ArgumentParser
import Foundation

struct HealthCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Ask the running server on HOST:PORT whether it is ready; exit 0 if so, 1 if not.",
        discussion: """
            For container health checks (Docker HEALTHCHECK, the Fargate container health check): \
            the image needs no curl. Reads HOST, PORT and TLS_CERT_FILE/TLS_KEY_FILE like the server.
            """
    )

    @Option(help: "The path to ask.")
    var path = "/health/ready"

    @Option(help: "Seconds to wait for the answer.")
    var timeout = 3

    func run() async throws {
        let probe: HealthProbe
        do {
            probe = try HealthProbe(environment: ProcessInfo.processInfo.environment, path: path)
        } catch {
            fail("configuration error: \(error)")
        }
        let outcome = await probe.run(timeout: .seconds(max(1, timeout)))
        print("\(probe.url): \(outcome.description)")
        if !outcome.isReady { throw ExitCode(1) }
    }
}
