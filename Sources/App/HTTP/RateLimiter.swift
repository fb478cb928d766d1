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
    ///
    /// Traced as `ratelimit.check` with the rule (the bucket's action, never whom it counts:
    /// an address's digest or a client network), the limit, the count and the outcome.
    func consume(_ bucket: String, limit: Int, now: Date = Date()) async throws {
        let start = windowStart(now)
        let hits = try await Spans.run("ratelimit.check") { span in
            let hits = try await store.hit(bucket: bucket, windowStart: start)
            if let span {
                span.attributes["ratelimit.rule"] = Self.rule(bucket)
                span.attributes["ratelimit.limit"] = limit
                span.attributes["ratelimit.hits"] = hits
                span.attributes["ratelimit.exceeded"] = hits > limit
            }
            return hits
        }
        if hits > limit { throw RateLimitExceeded(retryAfter: retryAfter(start, now)) }
    }

    /// A bucket's action without whom it counts: `register:ip`, `register:email`,
    /// `login-failure`, `email-request:address`.
    static func rule(_ bucket: String) -> String {
        let parts = bucket.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count > 1, ["ip", "email", "address"].contains(parts[1]) else { return String(parts[0]) }
        return "\(parts[0]):\(parts[1])"
    }

    /// The login throttle, counted before the password is checked, so a limit of N admits at
    /// most N guesses however many arrive at once: every attempt counts as a failure in the
    /// account's bucket for this client network (`loginFailuresPerAccount`) and in its bucket
    /// for all networks (`loginFailuresPerAccountCeiling`, much higher, so one third party
    /// cannot lock the owner out from everywhere); a successful login takes its count back
    /// (`loginSucceeded`). Unknown addresses count the same way, so the throttle reveals
    /// nothing.
    func consumeLoginAttempt(
        email: EmailAddress, clientNetwork: String, limits: RateLimitSettings, now: Date = Date()
    ) async throws {
        let account = Self.loginFailureBucket(email)
        try await consume("\(account):\(clientNetwork)", limit: limits.loginFailuresPerAccount, now: now)
        try await consume(account, limit: limits.loginFailuresPerAccountCeiling, now: now)
    }

    /// Takes back the count of a login attempt that turned out right.
    func loginSucceeded(email: EmailAddress, clientNetwork: String, startedAt: Date) async throws {
        let account = Self.loginFailureBucket(email)
        let start = windowStart(startedAt)
        try await store.unhit(bucket: "\(account):\(clientNetwork)", windowStart: start)
        try await store.unhit(bucket: account, windowStart: start)
    }

    /// Forgets every failed login of the account (a completed password reset: the owner is
    /// back in control, whoever was guessing).
    func clearLoginFailures(email: EmailAddress) async throws {
        try await store.clear(prefix: Self.loginFailureBucket(email))
    }

    private static func loginFailureBucket(_ email: EmailAddress) -> String {
        "login-failure:\(addressKey(email))"
    }

    /// The shared budget of resend and forgot requests, per client IP and per address.
    func consumeEmailRequest(email: EmailAddress, clientNetwork: String, limits: RateLimitSettings) async throws {
        try await consume("email-request:ip:\(clientNetwork)", limit: limits.emailRequestsPerIP)
        try await consume("email-request:address:\(Self.addressKey(email))", limit: limits.emailRequestsPerAddress)
    }

    static func addressKey(_ email: EmailAddress) -> String {
        SHA256.hash(data: Data(email.normalized.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private func windowStart(_ now: Date) -> Date {
        Self.windowStart(now, length: window.timeInterval)
    }

    /// The start of the fixed window of `length` seconds that holds `now` (windows are aligned
    /// to the epoch, so every instance agrees on them).
    static func windowStart(_ now: Date, length: TimeInterval) -> Date {
        let length = max(1, length)
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
