import Crypto
import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

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
    /// Which bcrypt computes the hashes (`BcryptImplementation.fastest` unless a test says).
    public let implementation: BcryptImplementation
    private let threadPool: NIOThreadPool
    private let metrics: ServiceMetrics?
    private let admission: HashAdmission?
    private let refusalDelay: Duration

    /// - Parameters:
    ///   - cost: bcrypt's cost factor; must be in 4...31 (validated by configuration).
    ///   - admission: refuses hashes that could not finish within the latency budget; nil admits all.
    ///   - refusalDelay: how long `checkCapacity()` waits before it throws.
    init(
        cost: Int, threadPool: NIOThreadPool, metrics: ServiceMetrics?, admission: HashAdmission?,
        refusalDelay: Duration = .zero, implementation: BcryptImplementation = .fastest
    ) {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        self.cost = cost
        self.implementation = implementation
        self.threadPool = threadPool
        self.metrics = metrics
        self.admission = admission
        self.refusalDelay = refusalDelay
    }

    /// A hasher without admission control, on its own pool (for tools and tests).
    public init(cost: Int, implementation: BcryptImplementation = .fastest) {
        self.init(cost: cost, threadPool: Self.pool, metrics: nil, admission: nil, implementation: implementation)
    }

    /// The threads that hash: one per core, started once, used by nothing else. They run at a
    /// lower priority than the rest of the process (nice + `Self.niceIncrement`), so the event
    /// loops (verification, refresh, health, refusals) and the database never wait behind a
    /// hash; on an otherwise idle machine the hashes still get every core.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: System.coreCount)
        pool.start()
        return pool
    }()

    static let niceIncrement: Int32 = 5
    #if os(Linux)
    static let processNice = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    #endif

    /// Lowers the calling thread's priority (Linux, where nice is per thread; elsewhere the
    /// hashes run at normal priority). Raising nice needs no privilege; if it fails anyway the
    /// hash runs at normal priority.
    static func lowerThreadPriority() {
        #if os(Linux)
        let target = min(19, processNice + niceIncrement)
        let thread = id_t(linuxThreadID())
        if getpriority(__priority_which_t(PRIO_PROCESS.rawValue), thread) != target {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), thread, target)
        }
        #endif
    }

    /// Runs one bcrypt operation on the pool, if admitted, and records how long it took there.
    ///
    /// Traced as `spanName` with the cost and how long the hash waited for a thread
    /// (`password.queue_wait_ms`) and ran on it (`password.hash_ms`).
    private func timed<Result: Sendable>(
        _ spanName: String, _ work: @escaping @Sendable () -> Result
    ) async throws -> Result {
        try await Spans.run(spanName) { span in
            span?.attributes["password.bcrypt.cost"] = cost
            try admission?.admit()
            let metrics = self.metrics
            let admission = self.admission
            let queued = ContinuousClock.now
            do {
                let (result, start, elapsed) = try await threadPool.runIfActive {
                    Self.lowerThreadPriority()
                    let start = admission?.started() ?? ContinuousClock.now
                    let result = work()
                    let elapsed = ContinuousClock.now - start
                    metrics?.passwordHash(elapsed)
                    admission?.finished(startedAt: start, after: elapsed)
                    return (result, start, elapsed)
                }
                if let span {
                    span.attributes["password.queue_wait_ms"] = (start - queued).timeInterval * 1000
                    span.attributes["password.hash_ms"] = elapsed.timeInterval * 1000
                }
                return result
            } catch {
                // Not run (cancelled, or the pool is shutting down): give the place back.
                admission?.abandoned()
                throw error
            }
        }
    }

    /// Throws `HashQueueFull` if a hash asked for now would be refused: called before a
    /// request's other work, so that under overload a refusal costs almost nothing.
    ///
    /// The refusal goes out after `refusalDelay` (`HASH_REFUSAL_DELAY_MS`): still far inside any
    /// latency budget, but a client that retries in a tight loop, ignoring `Retry-After`, then
    /// costs a few refusals a second per connection instead of taking the cores from the
    /// hashes that were admitted.
    public func checkCapacity() async throws(HashQueueFull) {
        do {
            try admission?.check()
        } catch {
            if refusalDelay > .zero { try? await Task.sleep(for: refusalDelay) }
            throw error
        }
    }

    /// The stored form of `password`.
    public func hash(_ password: String) async throws -> String {
        let input = Self.prehash(password)
        let (cost, implementation) = (self.cost, self.implementation)
        let digest = try await timed("password.hash") { implementation.hash(input, cost: cost) }
        return Self.schemePrefix + digest
    }

    /// Whether `password` matches `storedHash`. Unknown schemes never match.
    public func verify(_ password: String, against storedHash: String) async throws -> Bool {
        guard storedHash.hasPrefix(Self.schemePrefix) else { return false }
        let digest = String(storedHash.dropFirst(Self.schemePrefix.count))
        let input = Self.prehash(password)
        let implementation = self.implementation
        return try await timed("password.verify") { implementation.verify(input, hash: digest) }
    }

    /// Whether a stored hash was made with another cost (or scheme) than the configured one.
    public func needsRehash(_ storedHash: String) -> Bool {
        // "bcrypt-sha256$$2b$12$…": the cost is the two digits after the bcrypt version.
        let parts = storedHash.dropFirst(Self.schemePrefix.count).split(separator: "$")
        guard storedHash.hasPrefix(Self.schemePrefix), parts.count >= 2, let cost = Int(parts[1]) else { return true }
        return cost != self.cost
    }

    /// Times `iterations` hashes of a sample password at `cost` on the calling thread, one after
    /// another: what one core spends per registration or login. Used by `registration-server
    /// hash-cost` to choose a cost for a machine and by the benchmark for its hash-bound ceiling.
    public static func measure(
        cost: Int, iterations: Int, implementation: BcryptImplementation = .fastest
    ) -> [Duration] {
        precondition((4...31).contains(cost), "bcrypt cost must be between 4 and 31")
        let input = prehash("a sample password for timing")
        return (0..<max(1, iterations)).map { _ in
            let start = ContinuousClock.now
            _ = implementation.hash(input, cost: cost)
            return ContinuousClock.now - start
        }
    }

    static func normalize(_ password: String) -> String {
        password.precomposedStringWithCanonicalMapping
    }

    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(normalize(password).utf8))).base64EncodedString()
    }
}

#if os(Linux)
/// glibc's `gettid()` (2.30 and later), which the Glibc module does not export.
@_silgen_name("gettid")
func linuxThreadID() -> Int32
#endif
