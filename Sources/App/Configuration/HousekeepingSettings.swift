/// When housekeeping runs and how long finished data is kept.
public struct HousekeepingSettings: Sendable {
    /// Time between passes (one pass across all instances per interval).
    public var interval: Duration
    /// Sent and failed emails, with their recipient addresses, are deleted this long after.
    public var outboxRetention: Duration
    /// A never-verified account is deleted this long after its last link expired, which frees
    /// its address; zero keeps such accounts.
    public var unverifiedAccountRetention: Duration
    /// Audit events, and the tombstones of deleted accounts, are deleted this long after.
    public var auditRetention: Duration

    public init(
        interval: Duration = .seconds(600),
        outboxRetention: Duration = .seconds(7 * 86400),
        unverifiedAccountRetention: Duration = .seconds(7 * 86400),
        auditRetention: Duration = .seconds(365 * 86400)
    ) {
        self.interval = interval
        self.outboxRetention = outboxRetention
        self.unverifiedAccountRetention = unverifiedAccountRetention
        self.auditRetention = auditRetention
    }

    static func read(_ env: EnvironmentReader) throws(ConfigurationError) -> HousekeepingSettings {
        HousekeepingSettings(
            interval: .seconds(try env.integer("HOUSEKEEPING_INTERVAL", default: 600, range: 10...86400)),
            outboxRetention: .seconds(
                try env.integer("OUTBOX_RETENTION", default: 7 * 86400, range: 3600...(366 * 86400))),
            unverifiedAccountRetention: .seconds(
                try env.integer("UNVERIFIED_ACCOUNT_RETENTION", default: 7 * 86400, range: 0...(366 * 86400))),
            auditRetention: .seconds(
                try env.integer("AUDIT_RETENTION", default: 365 * 86400, range: 86400...(3660 * 86400)))
        )
    }
}
