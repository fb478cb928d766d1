import Foundation
import Logging
import PostgresNIO

/// `RateLimitStore` on PostgreSQL: one upsert per hit, atomic across instances.
struct PostgresRateLimitStore: RateLimitStore {
    let client: Traced<PostgresClient>
    let logger: Logger
    let calls: PostgresCalls

    func hit(bucket: String, windowStart: Date) async throws -> Int {
        try await calls.run {
            var binds = PostgresBindings()
            binds.append(bucket)
            binds.append(windowStart)
            return try await client.run(HotSQL.RateLimitHit.self, binds, logger: logger).first?.decode(Int.self) ?? 1
        }
    }

    func hits(bucket: String, windowStart: Date) async throws -> Int {
        try await calls.run {
            let rows = try await client.query(
                "SELECT hits FROM rate_limit_counters WHERE bucket = \(bucket) AND window_start = \(windowStart)",
                logger: logger
            )
            for try await hits in rows.decode(Int.self) { return hits }
            return 0
        }
    }

    func unhit(bucket: String, windowStart: Date) async throws {
        try await calls.run {
            try await client.query(
                """
                UPDATE rate_limit_counters SET hits = hits - 1
                WHERE bucket = \(bucket) AND window_start = \(windowStart) AND hits > 0
                """,
                logger: logger
            )
        }
    }

    func clear(prefix: String) async throws {
        let pattern = RateLimitBuckets.subBucketPattern(prefix)
        try await calls.run {
            try await client.query(
                "DELETE FROM rate_limit_counters WHERE bucket = \(prefix) OR bucket LIKE \(pattern)", logger: logger)
        }
    }

    func purge(before date: Date, limit: Int) async throws -> Int {
        try await calls.run {
            try await client.query(
                """
                DELETE FROM rate_limit_counters WHERE bucket IN (
                    SELECT bucket FROM rate_limit_counters WHERE window_start < \(date) LIMIT \(limit)
                )
                RETURNING 1
                """,
                logger: logger
            ).collect().count
        }
    }
}
