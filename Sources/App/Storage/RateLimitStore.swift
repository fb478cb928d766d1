import Foundation

/// Fixed-window counters shared by every instance.
public protocol RateLimitStore: Sendable {
    /// Counts one hit in the window starting at `windowStart` (a new window restarts at 1)
    /// and returns the hits in that window, this one included.
    func hit(bucket: String, windowStart: Date) async throws -> Int
    /// The hits in the window starting at `windowStart`, without counting one.
    func hits(bucket: String, windowStart: Date) async throws -> Int
    /// Takes back one hit counted in the window starting at `windowStart` (never below zero;
    /// nothing when the window has moved on).
    func unhit(bucket: String, windowStart: Date) async throws
    /// Forgets the bucket `prefix` and every bucket named `prefix:…`.
    func clear(prefix: String) async throws
    /// Forgets up to `limit` counters of windows that started before `date`; returns how many.
    func purge(before date: Date, limit: Int) async throws -> Int
}
