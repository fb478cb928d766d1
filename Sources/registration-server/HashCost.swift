import App
import ArgumentParser
import Foundation

/// Times bcrypt on one core, to choose BCRYPT_COST and HASH_QUEUE_BUDGET_MS for a machine.
struct HashCost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-cost",
        abstract: "Time one password hash on one core at a bcrypt cost (BCRYPT_COST by default).",
        discussion: """
            Prints the median time per hash and the resulting ceiling of registrations or logins per second
            on this machine's cores. Reads no other setting and touches no database.
            """
    )

    @Option(help: "The bcrypt cost to time (4-31); BCRYPT_COST or 12 when omitted.")
    var cost: Int?

    @Option(help: "How many hashes to time.")
    var iterations: Int = 5

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        let environmentCost = ProcessInfo.processInfo.environment["BCRYPT_COST"].flatMap { Int($0) }
        let cost = self.cost ?? environmentCost ?? 12
        guard (4...31).contains(cost) else { throw ValidationError("--cost: must be between 4 and 31") }
        guard (1...1000).contains(iterations) else { throw ValidationError("--iterations: must be between 1 and 1000") }
        let samples = PasswordHasher.measure(cost: cost, iterations: iterations)
            .map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
            .sorted()
        let median = samples[samples.count / 2]
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let ceiling = Double(cores) * 1000 / median
        if json {
            let object: [String: Any] = [
                "cost": cost, "iterations": iterations, "median_ms": median, "min_ms": samples[0],
                "max_ms": samples[samples.count - 1], "cores": cores, "ceiling_per_second": ceiling,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format:
                        "bcrypt cost %d: %.1f ms per hash on one core (median of %d); %d cores: at most %.1f hashes/s",
                    cost, median, iterations, cores, ceiling))
        }
    }
}
