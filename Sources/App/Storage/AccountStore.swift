import Foundation

/// Accounts, their tokens and the outbox writes that go with them.
public protocol AccountStore: Sendable {
    /// Runs `body` in one database transaction: committed when it returns, rolled back when it
    /// throws or when it outlasts the database timeout (then `DatabaseUnavailable` is thrown).
    func withTransaction<Result: Sendable>(
        _ body: @escaping @Sendable (any AccountTransaction) async throws -> Result
    ) async throws -> Result

    /// Uses a verification token (see `useVerificationTokenInSteps`, the reference behaviour).
    func useVerificationToken(hash: Data, at: Date, passwordChecked: Bool) async throws -> VerificationTokenUse

    /// One account by id, as a single read: no transaction is needed for one statement, so a
    /// store may skip `BEGIN … COMMIT` (PostgreSQL: one round trip instead of three).
    func account(id: UUID) async throws -> AccountRecord?

    /// Performs `rotation` when every condition for it holds and returns what it rotated; nil
    /// when any does not (or the store has no such shortcut), having changed nothing.
    func rotateRefreshTokenAtOnce(_ rotation: RefreshRotation) async throws -> RotatedSession?
}

extension AccountStore {
    public func account(id: UUID) async throws -> AccountRecord? {
        try await withTransaction { try await $0.account(id: id) }
    }

    public func useVerificationToken(
        hash: Data, at now: Date, passwordChecked: Bool = false
    ) async throws -> VerificationTokenUse {
        try await useVerificationTokenInSteps(hash: hash, at: now, passwordChecked: passwordChecked)
    }
}
