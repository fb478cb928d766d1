import Crypto
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// Hashes and verifies passwords with bcrypt, off the event loops.
///
/// Bcrypt reads at most 72 bytes of its input, so two long passwords with a common prefix
/// would share a hash. To avoid that silent truncation every password is first normalised
/// to Unicode NFC (the same password typed on two keyboards matches), hashed with SHA-256
/// and base64-encoded (44 ASCII bytes, no NUL), and that string is what bcrypt sees.
/// Stored hashes carry the prefix `bcrypt-sha256$` so the scheme can be recognised and
/// replaced later.
public struct PasswordHasher: Sendable {
    static let schemePrefix = "bcrypt-sha256$"

    public let cost: Int
    private let threadPool: NIOThreadPool
    private let metrics: ServiceMetrics?
    private let admission: HashAdmission?

    /// - Parameters:
    ///   - cost: bcrypt's cost factor; must be in 4...31 (validated by configuration).
    ///   - admission: refuses hashes that could not finish within the latency budget; nil admits all.
    init(cost: Int, threadPool: NIOThreadPool, metrics: ServiceMetrics?, admission: HashAdmission?) {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        self.cost = cost
        self.threadPool = threadPool
        self.metrics = metrics
        self.admission = admission
    }

    /// A hasher without admission control, on NIO's shared pool (for tools and tests).
    public init(cost: Int) {
        self.init(cost: cost, threadPool: .singleton, metrics: nil, admission: nil)
    }

    /// Runs one bcrypt operation on the pool, if admitted, and records how long it took there.
    private func timed<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async throws -> Result {
        try admission?.admit()
        let metrics = self.metrics
        let admission = self.admission
        do {
            return try await threadPool.runIfActive {
                let start = ContinuousClock.now
                let result = work()
                let elapsed = ContinuousClock.now - start
                metrics?.passwordHash(elapsed)
                admission?.finished(after: elapsed)
                return result
            }
        } catch {
            // Not run (cancelled, or the pool is shutting down): give the place back.
            admission?.abandoned()
            throw error
        }
    }

    /// The stored form of `password`.
    public func hash(_ password: String) async throws -> String {
        let input = Self.prehash(password)
        let cost = UInt8(self.cost)
        let digest = try await timed { Bcrypt.hash(input, cost: cost) }
        return Self.schemePrefix + digest
    }

    /// Whether `password` matches `storedHash`. Unknown schemes never match.
    public func verify(_ password: String, against storedHash: String) async throws -> Bool {
        guard storedHash.hasPrefix(Self.schemePrefix) else { return false }
        let digest = String(storedHash.dropFirst(Self.schemePrefix.count))
        let input = Self.prehash(password)
        return try await timed { Bcrypt.verify(input, hash: digest) }
    }

    /// Whether a stored hash was made with another cost (or scheme) than the configured one.
    public func needsRehash(_ storedHash: String) -> Bool {
        // "bcrypt-sha256$$2b$12$…": the cost is the two digits after the bcrypt version.
        let parts = storedHash.dropFirst(Self.schemePrefix.count).split(separator: "$")
        guard storedHash.hasPrefix(Self.schemePrefix), parts.count >= 2, let cost = Int(parts[1]) else { return true }
        return cost != self.cost
    }

    static func normalize(_ password: String) -> String {
        password.precomposedStringWithCanonicalMapping
    }

    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(normalize(password).utf8))).base64EncodedString()
    }
}
