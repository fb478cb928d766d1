import Foundation

/// The email outbox as the delivery worker sees it.
public protocol OutboxStore: Sendable {
    /// Reserves up to `limit` due emails until `leaseUntil` for the claim `claimToken` and
    /// counts the attempt. Concurrent workers never receive the same email while its lease runs.
    func claimDueEmails(now: Date, limit: Int, leaseUntil: Date, claimToken: UUID) async throws -> [ClaimedEmail]
    /// Extends the lease of those emails in `ids` still held by the claim `claimToken` (an
    /// email whose lease ran out and that another worker claimed is not taken back). Returns
    /// how many leases were extended.
    @discardableResult
    func renewClaims(ids: [UUID], claimToken: UUID, leaseUntil: Date) async throws -> Int
    /// Records delivery and erases the bodies, which contain one-time links.
    func markSent(id: UUID, at: Date) async throws
    /// Records a failed attempt and when to try again. An attempt that does not count (the
    /// transport is misconfigured, which is no fault of this email) is given back.
    func scheduleRetry(id: UUID, at: Date, error: String, countsAsAttempt: Bool) async throws
    /// Gives up on an email for good and erases its bodies.
    func markFailed(id: UUID, at: Date, error: String) async throws
    /// How many emails wait to be sent, and since when the oldest has been waiting.
    func backlog() async throws -> (pending: Int, oldestCreatedAt: Date?)
    /// Hands back a claimed email that was not attempted (shutdown), due at once and not counted.
    func releaseClaim(id: UUID, now: Date) async throws
}

extension OutboxStore {
    /// Claims under a claim token of its own (nothing will renew the lease).
    public func claimDueEmails(now: Date, limit: Int, leaseUntil: Date) async throws -> [ClaimedEmail] {
        try await claimDueEmails(now: now, limit: limit, leaseUntil: leaseUntil, claimToken: UUID())
    }

    public func scheduleRetry(id: UUID, at date: Date, error: String) async throws {
        try await scheduleRetry(id: id, at: date, error: error, countsAsAttempt: true)
    }
}
