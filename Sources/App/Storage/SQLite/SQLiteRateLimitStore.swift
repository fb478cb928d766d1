import Foundation
import SQLiteNIO

/// `RateLimitStore` on the SQLite file.
struct SQLiteRateLimitStore: RateLimitStore {
    let storage: SQLiteStorage

    func hit(bucket: String, windowStart: Date) async throws -> Int {
        try await storage.withTransaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO rate_limit_counters (bucket, window_start, hits) VALUES (?1, ?2, 1)
                ON CONFLICT (bucket) DO UPDATE SET
                    hits = CASE WHEN rate_limit_counters.window_start = excluded.window_start
                                THEN rate_limit_counters.hits + 1 ELSE 1 END,
                    window_start = excluded.window_start
                RETURNING hits
                """,
                [.text(bucket), SQLiteData(windowStart)]
            )
            return try rows.first?.int("hits") ?? 1
        }
    }

    func hits(bucket: String, windowStart: Date) async throws -> Int {
        try await storage.withConnection { connection in
            let rows = try await connection.query(
                "SELECT hits FROM rate_limit_counters WHERE bucket = ? AND window_start = ?",
                [.text(bucket), SQLiteData(windowStart)]
            )
            return try rows.first?.int("hits") ?? 0
        }
    }

    func unhit(bucket: String, windowStart: Date) async throws {
        try await storage.withConnection { connection in
            _ = try await connection.query(
                "UPDATE rate_limit_counters SET hits = hits - 1 WHERE bucket = ? AND window_start = ? AND hits > 0",
                [.text(bucket), SQLiteData(windowStart)]
            )
        }
    }

    func clear(prefix: String) async throws {
        let pattern = RateLimitBuckets.subBucketPattern(prefix)
        try await storage.withConnection { connection in
            _ = try await connection.query(
                "DELETE FROM rate_limit_counters WHERE bucket = ? OR bucket LIKE ? ESCAPE '\\'",
                [.text(prefix), .text(pattern)]
            )
        }
    }

    func purge(before date: Date, limit: Int) async throws -> Int {
        try await storage.withTransaction { connection in
            try await connection.query(
                """
                DELETE FROM rate_limit_counters WHERE bucket IN (
                    SELECT bucket FROM rate_limit_counters WHERE window_start < ? LIMIT ?
                )
                RETURNING 1
                """,
                [SQLiteData(date), .integer(limit)]
            ).count
        }
    }
}
