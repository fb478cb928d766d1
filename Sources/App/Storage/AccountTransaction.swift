import Foundation

/// The statements a business transaction may run; all of them commit or roll back together.
public protocol AccountTransaction {
    /// Inserts the pending account unless its normalised address exists; either way returns
    /// the owner of the address, locked until the transaction ends. The unique constraint
    /// decides between concurrent registrations, never a prior read.
    func claimAddress(_ account: NewAccount) async throws -> AccountClaim
    func insertVerificationToken(_ token: NewVerificationToken) async throws
    func enqueueEmail(_ email: OutboxEmail) async throws
    /// Finds a token by hash and locks its account until the transaction ends.
    func lockVerificationToken(hash: Data) async throws -> VerificationTokenRecord?
    /// Activates the account with the password bound to the token, marks the token used
    /// (dropping its copy of the hash) and deletes the account's other verification tokens.
    func activateAccount(id: UUID, passwordHash: String, usingToken tokenHash: Data, at: Date) async throws
}
