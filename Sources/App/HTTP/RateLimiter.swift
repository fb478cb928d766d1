import Crypto
import Foundation

/// Fixed-window rate limits over the shared `RateLimitStore`.
///
/// Buckets name the action and who it is counted for: a client IP, or the SHA-256 of a
/// normalised email address (so the table holds no addresses).
public struct RateLimiter: Sendable {
    let store: any RateLimitStore
    let window: Duration

    public init(store: any RateLimitStore, window: Duration) {
        self.store = store
        self.window = window
    }

    /// Counts one request and refuses it when the bucket is over `limit` in this window.
    func consume(_ bucket: String, limit: Int, now: Date = Date()) async throws {
        let start = windowStart(now)
        let hits = try await store.hit(bucket: bucket, windowStart: start)
        if hits > limit { throw RateLimitExceeded(retryAfter: retryAfter(start, now)) }
    }

    /// Refuses when the bucket has already reached `limit` in this window; counts nothing.
    func check(_ bucket: String, limit: Int, now: Date = Date()) async throws {
        let start = windowStart(now)
        if try await store.hits(bucket: bucket, windowStart: start) >= limit {
            throw RateLimitExceeded(retryAfter: retryAfter(start, now))
        }
    }

    /// Counts one event (e.g. a failed login) without refusing anything.
    func record(_ bucket: String, now: Date = Date()) async throws {
        _ = try await store.hit(bucket: bucket, windowStart: windowStart(now))
    }

    /// The shared budget of resend and forgot requests, per client IP and per address.
    func consumeEmailRequest(email: EmailAddress, clientIP: String, limits: RateLimitSettings) async throws {
        try await consume("email-request:ip:\(clientIP)", limit: limits.emailRequestsPerIP)
        try await consume("email-request:address:\(Self.addressKey(email))", limit: limits.emailRequestsPerAddress)
    }

    static func addressKey(_ email: EmailAddress) -> String {
        SHA256.hash(data: Data(email.normalized.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func windowStart(_ now: Date) -> Date {
        let length = max(1, window.timeInterval)
        return Date(timeIntervalSince1970: (now.timeIntervalSince1970 / length).rounded(.down) * length)
    }

    private func retryAfter(_ start: Date, _ now: Date) -> Int {
        max(1, Int((start.timeIntervalSince1970 + window.timeInterval - now.timeIntervalSince1970).rounded(.up)))
    }
}

/// Too many requests; answered 429 with `Retry-After`.
public struct RateLimitExceeded: Error, Sendable {
    /// Seconds until the window ends.
    public let retryAfter: Int
}
