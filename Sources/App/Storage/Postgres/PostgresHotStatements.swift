import Logging
import PostgresNIO

/// A statement on a path that carries steady traffic, prepared once per connection: PostgreSQL
/// parses and plans it once, and each execution sends only Bind and Execute. Unprepared, a
/// refresh-token rotation's statements cost PostgreSQL 72% more (pgbench, `-M extended` against
/// `-M prepared`; bench/findings.md).
///
/// `sql` uses `$n` parameters; no parameter may be NULL on the first execution on a connection
/// (its type is inferred from the first bindings).
protocol HotStatement {
    /// The prepared statement's name on each connection: unique per statement text.
    static var name: String { get }
    static var sql: String { get }
}

/// Executes `Statement` as a prepared statement; rows come back undecoded.
struct Prepared<Statement: HotStatement>: PostgresPreparedStatement {
    static var name: String { Statement.name }
    static var sql: String { Statement.sql }
    typealias Row = PostgresRow

    var bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

extension PostgresConnection {
    /// The rows of a hot statement, collected (they are few).
    func run<Statement: HotStatement>(
        _ statement: Statement.Type, _ bindings: PostgresBindings, logger: Logger
    ) async throws -> [PostgresRow] {
        try await execute(Prepared<Statement>(bindings: bindings), logger: logger).collected()
    }
}

extension PostgresClient {
    /// The rows of a hot statement on a pooled connection, in its implicit transaction.
    func run<Statement: HotStatement>(
        _ statement: Statement.Type, _ bindings: PostgresBindings, logger: Logger
    ) async throws -> [PostgresRow] {
        try await execute(Prepared<Statement>(bindings: bindings), logger: logger).collected()
    }
}

extension AsyncSequence where Element == PostgresRow {
    fileprivate func collected() async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in self { rows.append(row) }
        return rows
    }
}

/// The hot statements: a refresh-token rotation, `GET /v1/me`'s read and the rate-limit counter.
enum HotSQL {
    /// `SessionService`'s rotation steps in one statement, for the case where every condition
    /// holds (`RefreshRotation`); otherwise it changes nothing and returns no row, and the steps
    /// run to find the outcome. Locks as the steps do: the token `FOR UPDATE` (a concurrent use
    /// of the same token waits, then sees it rotated), the account `FOR SHARE`. All parts see
    /// one snapshot, so each write depends on `valid`.
    ///
    /// `$1` presented hash, `$2` now, `$3` successor hash, `$4` now plus the token lifetime,
    /// `$5` the family's maximum age in seconds, `$6` start of the limit's window, `$7` the
    /// limit (negative: none). Returns the account's columns and the session (family) id.
    enum RotateRefreshToken: HotStatement {
        static let name = "rotate_refresh_token_v1"
        static let sql = """
            WITH token AS (
                SELECT user_id, family_id, expires_at, rotated_at, revoked_at, session_epoch, family_created_at
                FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE
            ), account AS (
                SELECT \(LifecycleSQL.accountColumns) FROM users
                WHERE id = (SELECT user_id FROM token) FOR SHARE
            ), valid AS (
                SELECT t.family_id, t.session_epoch, t.family_created_at, a.id AS user_id,
                       LEAST($4::timestamptz, t.family_created_at + make_interval(secs => $5::float8)) AS expires_at
                FROM token t, account a
                WHERE t.revoked_at IS NULL AND t.rotated_at IS NULL AND t.expires_at > $2
                  AND t.family_created_at + make_interval(secs => $5::float8) > $2
                  AND a.status = 'active' AND a.disabled_at IS NULL AND a.session_epoch = t.session_epoch
                  AND CASE WHEN $7::bigint < 0 THEN true
                           ELSE (SELECT count(*) FROM refresh_tokens r
                                 WHERE r.family_id = t.family_id AND r.created_at >= $6) <= $7::bigint END
            ), rotated AS (
                UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND EXISTS (SELECT 1 FROM valid)
            ), successor AS (
                INSERT INTO refresh_tokens
                    (token_hash, user_id, family_id, created_at, expires_at, session_epoch, family_created_at)
                SELECT $3, user_id, family_id, $2, expires_at, session_epoch, family_created_at FROM valid
            ), touched AS (
                UPDATE sessions s SET last_used_at = $2, expires_at = v.expires_at
                FROM valid v WHERE s.id = v.family_id
            )
            SELECT \(LifecycleSQL.accountColumns), (SELECT family_id FROM valid) FROM account
            WHERE EXISTS (SELECT 1 FROM valid)
            """
    }

    enum LockRefreshToken: HotStatement {
        static let name = "lock_refresh_token_v1"
        static let sql = """
            SELECT user_id, family_id, expires_at, rotated_at, revoked_at, session_epoch, family_created_at
            FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE
            """
    }

    enum CountFamilyTokens: HotStatement {
        static let name = "count_family_tokens_v1"
        static let sql = "SELECT count(*)::int FROM refresh_tokens WHERE family_id = $1 AND created_at >= $2"
    }

    enum MarkRefreshTokenRotated: HotStatement {
        static let name = "mark_refresh_token_rotated_v1"
        static let sql = "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1"
    }

    enum InsertRefreshToken: HotStatement {
        static let name = "insert_refresh_token_v1"
        static let sql = """
            INSERT INTO refresh_tokens
                (token_hash, user_id, family_id, created_at, expires_at, session_epoch, family_created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """
    }

    enum TouchSession: HotStatement {
        static let name = "touch_session_v1"
        static let sql = LifecycleSQL.touchSession
    }

    enum Account: HotStatement {
        static let name = "account_v1"
        static let sql = "SELECT \(LifecycleSQL.accountColumns) FROM users WHERE id = $1"
    }

    enum AccountForSession: HotStatement {
        static let name = "account_for_session_v1"
        static let sql = "SELECT \(LifecycleSQL.accountColumns) FROM users WHERE id = $1 FOR SHARE"
    }

    enum RateLimitHit: HotStatement {
        static let name = "rate_limit_hit_v1"
        static let sql = """
            INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES ($1, $2, 1)
            ON CONFLICT (bucket) DO UPDATE SET
                hits = CASE WHEN rate_limit_counters.window_start = excluded.window_start
                            THEN rate_limit_counters.hits + 1 ELSE 1 END,
                window_start = excluded.window_start
            RETURNING hits
            """
    }
}
