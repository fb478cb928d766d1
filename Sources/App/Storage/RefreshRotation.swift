import Foundation

/// A refresh-token rotation as `SessionService.refresh` asks for it: the presented token is
/// exchanged for `successorHash` when the token is live (neither rotated nor revoked, within its
/// lifetime and its family's maximum age), its family is under the exchange limit, and its
/// account is usable in the session epoch the family was made in.
public struct RefreshRotation: Sendable {
    public var presentedHash: Data
    public var successorHash: Data
    public var now: Date
    /// `now` plus the refresh-token lifetime; the successor expires then or at the family's end,
    /// whichever comes first.
    public var successorExpiry: Date
    public var familyMaxAge: Duration
    /// At most `limit` tokens of the family created within any `window` (rolling); nil: no limit.
    public var familyLimit: (limit: Int, window: Duration)?

    /// Where the limit's window starts for this rotation.
    public var familyLimitSince: Date? {
        familyLimit.map { now.addingTimeInterval(-$0.window.timeInterval) }
    }

    /// When a family that began at `familyCreatedAt` ends.
    public func endOfFamily(_ familyCreatedAt: Date) -> Date {
        familyCreatedAt.addingTimeInterval(familyMaxAge.timeInterval)
    }
}

/// A rotation that happened: the account (as locked) and the session (the token family).
public struct RotatedSession: Sendable {
    public var account: AccountRecord
    public var session: UUID
}

extension AccountStore {
    /// Stores that can do the whole happy path at once override this (PostgreSQL: one prepared
    /// statement, one round trip, one commit). The default does nothing: `SessionService` then
    /// runs the steps, which also decide every other outcome (reuse, limit, refusal).
    public func rotateRefreshTokenAtOnce(_ rotation: RefreshRotation) async throws -> RotatedSession? {
        nil
    }
}
