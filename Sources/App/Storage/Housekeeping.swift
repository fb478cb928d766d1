import Foundation
import Logging
import ServiceLifecycle

/// What housekeeping deletes, beside expired idempotency keys and old rate-limit windows; the
/// names label `housekeeping_deleted_total{kind}` and the pass's log line.
public enum HousekeepingKind: String, CaseIterable, Sendable {
    /// Expired verification links of active accounts.
    case verificationLinks = "verification_links"
    /// Expired password reset tokens.
    case resetTokens = "reset_tokens"
    /// Expired refresh tokens (rotated and revoked ones included).
    case refreshTokens = "refresh_tokens"
    /// Sent and failed emails older than `OUTBOX_RETENTION`, recipient addresses with them.
    case emails
    /// Never-verified accounts whose last link expired more than `UNVERIFIED_ACCOUNT_RETENTION`
    /// ago, with everything they own.
    case unverifiedAccounts = "unverified_accounts"
    /// Sessions (refresh-token families) that ended or expired.
    case sessions
    /// Expired address-change links.
    case emailChangeTokens = "email_change_tokens"
    /// Audit events older than `AUDIT_RETENTION`.
    case auditEvents = "audit_events"
    /// Tombstones of accounts deleted longer than `AUDIT_RETENTION` ago.
    case tombstones
}

/// Deletes what no rule needs any more, once per `HOUSEKEEPING_INTERVAL` across all instances:
/// the instance that takes the lease does the pass, the others skip it. Rows go in batches of
/// `batchSize`, each batch its own transaction, so no statement holds many locks; a pass
/// interrupted by shutdown gives the lease back, and the next pass carries on where it stopped.
struct Housekeeping: Service {
    let rateLimits: any RateLimitStore
    let accounts: any AccountStore
    /// The rate-limit window: counters of windows that ended two windows ago go.
    let window: Duration
    let settings: HousekeepingSettings
    let metrics: ServiceMetrics?
    let gate: StartupGate
    let logger: Logger
    /// This instance, as the lease's holder.
    let holder = UUID().lowercased

    static let batchSize = 1000
    static let leaseName = "housekeeping"

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await gate.wait() }
        } catch is CancellationError {
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: settings.interval) }
        }
    }

    /// One pass at `now` if this instance gets the lease: the rows deleted per kind, or nil
    /// when another instance holds the lease or the pass failed.
    @discardableResult
    func sweep(now: Date = Date()) async -> [String: Int]? {
        let leased: Bool
        do {
            leased = try await accounts.withTransaction { [holder] in
                try await $0.acquireHousekeepingLease(
                    Self.leaseName, holder: holder, now: now,
                    until: now.addingTimeInterval(settings.interval.timeInterval))
            }
        } catch {
            logFailure(error)
            return nil
        }
        guard leased else { return nil }
        var counts: [String: Int] = [:]
        do {
            for kind in HousekeepingKind.allCases {
                guard let cutoff = cutoff(for: kind, now: now) else { continue }
                counts[kind.rawValue] = try await batches {
                    try await accounts.withTransaction {
                        try await $0.purge(kind, cutoff: cutoff, limit: Self.batchSize)
                    }
                }
            }
            counts["idempotency_keys"] = try await batches {
                try await accounts.withTransaction {
                    try await $0.deleteExpiredIdempotencyKeys(before: now, limit: Self.batchSize)
                }
            }
            counts["rate_limit_windows"] = try await batches {
                try await rateLimits.purge(
                    before: now.addingTimeInterval(-2 * window.timeInterval), limit: Self.batchSize)
            }
        } catch {
            logFailure(error)
            record(counts, complete: false)
            await giveLeaseBack(now: now)
            return nil
        }
        let interrupted = Task.isCancelled || Task.isShuttingDownGracefully
        record(counts, complete: !interrupted)
        if interrupted { await giveLeaseBack(now: now) }
        return counts
    }

    /// The time before which rows of `kind` are due; nil when the kind is switched off.
    func cutoff(for kind: HousekeepingKind, now: Date) -> Date? {
        switch kind {
        case .verificationLinks, .resetTokens, .refreshTokens, .sessions, .emailChangeTokens: return now
        case .auditEvents, .tombstones: return now.addingTimeInterval(-settings.auditRetention.timeInterval)
        case .emails: return now.addingTimeInterval(-settings.outboxRetention.timeInterval)
        case .unverifiedAccounts:
            guard settings.unverifiedAccountRetention > .zero else { return nil }
            return now.addingTimeInterval(-settings.unverifiedAccountRetention.timeInterval)
        }
    }

    /// Runs `batch` until it deletes fewer than a full batch or the service is stopping.
    private func batches(_ batch: () async throws -> Int) async throws -> Int {
        var total = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let deleted = try await batch()
            total += deleted
            if deleted < Self.batchSize { break }
        }
        return total
    }

    private func record(_ counts: [String: Int], complete: Bool) {
        var metadata: Logger.Metadata = ["event": "housekeeping.pass", "complete": "\(complete)"]
        for (kind, count) in counts {
            metadata[kind] = "\(count)"
            metrics?.housekeepingDeleted(kind: kind, count: count)
        }
        logger.info("housekeeping pass", metadata: metadata)
    }

    private func giveLeaseBack(now: Date) async {
        try? await accounts.withTransaction { [holder] in
            try await $0.releaseHousekeepingLease(Self.leaseName, holder: holder, now: now)
        }
    }

    private func logFailure(_ error: any Error) {
        logger.warning(
            "housekeeping failed", metadata: ["event": "housekeeping.failed", "error": "\(type(of: error))"])
    }
}
