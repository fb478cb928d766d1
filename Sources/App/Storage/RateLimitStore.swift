import Foundation

/// Fixed-window counters shared by every instance.
public protocol RateLimitStore: Sendable {
    /// Counts one hit in the window starting at `windowStart` (a new window restarts at 1)
    /// and returns the hits in that window, this one included.
    func hit(bucket: String, windowStart: Date) async throws -> Int
    /// The hits in the window starting at `windowStart`, without counting one.
    func hits(bucket: String, windowStart: Date) async throws -> Int
    /// Forgets counters of windows that started before `date`.
    func purge(before date: Date) async throws
}
