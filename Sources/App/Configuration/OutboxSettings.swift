/// How the outbox worker polls and retries.
public struct OutboxSettings: Sendable {
    /// How long the worker sleeps when it found nothing to send.
    public var pollInterval: Duration
    /// Attempts before a message is given up and marked failed.
    public var maxAttempts: Int
    /// Delay before the first retry; doubles with every further attempt.
    public var retryBaseDelay: Duration
    /// Longest delay between two attempts.
    public var retryMaxDelay: Duration
    /// How long a claimed message stays reserved for the worker that claimed it; the worker
    /// renews it every third of this while the message is in flight. If that worker dies
    /// before marking it sent, another one sends it after at most this.
    public var claimLease: Duration
    /// Most emails claimed at once (a worker claims no more than it has free delivery slots).
    public var batchSize: Int
    /// Emails in flight at once per instance, spread over the transport's connections.
    public var concurrency: Int
    /// Longest one delivery attempt may take before it counts as a transient failure.
    public var sendTimeout: Duration

    public init(
        pollInterval: Duration = .seconds(1),
        maxAttempts: Int = 8,
        retryBaseDelay: Duration = .seconds(30),
        retryMaxDelay: Duration = .seconds(3600),
        claimLease: Duration = .seconds(15),
        batchSize: Int = 20,
        concurrency: Int = 8,
        sendTimeout: Duration = .seconds(10)
    ) {
        self.pollInterval = pollInterval
        self.maxAttempts = maxAttempts
        self.retryBaseDelay = retryBaseDelay
        self.retryMaxDelay = retryMaxDelay
        self.claimLease = claimLease
        self.batchSize = batchSize
        self.concurrency = concurrency
        self.sendTimeout = sendTimeout
    }
}
