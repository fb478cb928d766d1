import App
import ArgumentParser
import Foundation

/// Times bcrypt on one core, to choose BCRYPT_COST and HASH_QUEUE_BUDGET_MS for a machine.
struct HashCost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-cost",
        abstract: "Time one password hash on one core at a bcrypt cost (BCRYPT_COST by default).",
        discussion: """
            Prints the median time per hash for every bcrypt implementation available here (libxcrypt when \
            libcrypt.so.1 loads, and the built-in HummingbirdBcrypt), the one the server uses first, and the \
            resulting ceiling of registrations or logins per second on this machine's cores. Reads no other \
            setting and touches no database.
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
        let cores = ProcessInfo.processInfo.activeProcessorCount
        // Every implementation available here, the one the server uses (the fastest) first.
        let timings = BcryptImplementation.available.map { implementation in
            let samples = PasswordHasher.measure(cost: cost, iterations: iterations, implementation: implementation)
                .map { Double($0.components.seconds) * 1000 + Double($0.components.attoseconds) / 1e15 }
                .sorted()
            return (name: implementation.description, median: samples[samples.count / 2], samples: samples)
        }
        let used = timings[0]
        let ceiling = Double(cores) * 1000 / used.median
        if json {
            var object: [String: Any] = [
                "cost": cost, "iterations": iterations, "implementation": used.name, "median_ms": used.median,
                "min_ms": used.samples[0], "max_ms": used.samples[used.samples.count - 1], "cores": cores,
                "ceiling_per_second": ceiling,
            ]
            object["implementations"] = Dictionary(
                uniqueKeysWithValues: timings.map {
                    (
                        $0.name,
                        ["median_ms": $0.median, "min_ms": $0.samples[0], "max_ms": $0.samples[$0.samples.count - 1]]
                    )
                })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for (index, timing) in timings.enumerated() {
                print(
                    String(
                        format: "bcrypt cost %d, %@%@: %.1f ms per hash on one core (median of %d)", cost,
                        timing.name, index == 0 ? " (used by the server)" : "", timing.median, iterations))
            }
            print(String(format: "%d cores: at most %.1f hashes/s", cores, ceiling))
        }
    }
}
