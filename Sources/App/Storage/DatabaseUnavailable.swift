/// The database could not serve this request in time: unreachable, restarting, shutting down,
/// out of connections, or slower than the configured timeouts. Answered `503` with
/// `Retry-After`, since trying again shortly is what helps; a transaction cut short this way
/// was rolled back.
///
/// `reason` and `sqlState` name what happened (`serverClosedConnection`, `57P01`), never a
/// query parameter, so they may be logged.
public struct DatabaseUnavailable: ProblemRepresentable, CustomStringConvertible {
    public let reason: String
    public let sqlState: String?

    /// Seconds a client should wait before trying again.
    public static let retryAfter = 2

    public init(reason: String, sqlState: String? = nil) {
        self.reason = reason
        self.sqlState = sqlState
    }

    public var description: String { sqlState.map { "\(reason) (SQLSTATE \($0))" } ?? reason }

    var problem: Problem {
        var problem = Problem(
            status: .serviceUnavailable,
            code: "database_unavailable",
            title: "Temporarily unavailable",
            detail: "The service cannot reach its database right now; nothing was changed. "
                + "Try again in \(Self.retryAfter) seconds."
        )
        problem.headers[.retryAfter] = String(Self.retryAfter)
        return problem
    }
}
