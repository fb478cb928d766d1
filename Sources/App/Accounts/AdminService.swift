import Foundation
import Logging

/// What administrators (over HTTP) and operators (on the command line) do to other accounts:
/// disable, enable, delete, change roles. Every action is in the audit trail with its actor.
public struct AdminService: Sendable {
    let store: any AccountStore
    /// Woken when a deletion queues its notice; nil on the command line, where the running
    /// servers' workers find the email at their next poll.
    let signal: OutboxSignal?

    public init(store: any AccountStore, signal: OutboxSignal? = nil) {
        self.store = store
        self.signal = signal
    }

    /// Disables the account: it cannot log in or refresh, and every session ends now (access
    /// tokens already issued lapse within their lifetime). Returns the account, or nil when
    /// there is none.
    public func disable(accountID: UUID, by actor: AuditActor, logger: Logger) async throws -> AccountRecord? {
        try await setDisabled(true, accountID: accountID, by: actor, logger: logger)
    }

    /// Enables a disabled account: it is pending or active again, as it was.
    public func enable(accountID: UUID, by actor: AuditActor, logger: Logger) async throws -> AccountRecord? {
        try await setDisabled(false, accountID: accountID, by: actor, logger: logger)
    }

    private func setDisabled(
        _ disabled: Bool, accountID: UUID, by actor: AuditActor, logger: Logger
    ) async throws -> AccountRecord? {
        let now = Date()
        let account = try await store.withTransaction { transaction -> AccountRecord? in
            // Sessions first, then the account row: the lock order every path keeps.
            if disabled { try await transaction.endSessions(accountID: accountID, at: now) }
            guard try await transaction.setDisabled(accountID: accountID, disabled: disabled, at: now)
            else { return nil }
            try await transaction.recordAudit(
                AuditEvent(disabled ? .disabled : .enabled, account: accountID, actor: actor, at: now))
            return try await transaction.account(id: accountID)
        }
        if account != nil {
            logger.notice(
                disabled ? "account disabled" : "account enabled",
                metadata: [
                    "event": "\(disabled ? "user.disabled" : "user.enabled")", "user_id": "\(accountID.lowercased)",
                    "actor": "\(actor.stored)",
                ])
        }
        return account
    }

    /// Deletes the account as its owner's deletion does (tombstone, audit, notice to a verified
    /// address); false when there is none.
    public func delete(accountID: UUID, by actor: AuditActor, requestID: String?, logger: Logger) async throws -> Bool {
        let now = Date()
        let deleted = try await store.withTransaction { transaction -> Bool in
            try await transaction.endSessions(accountID: accountID, at: now)
            guard let account = try await transaction.accountForSession(id: accountID) else { return false }
            return try await transaction.removeAccount(account, by: actor, at: now, requestID: requestID)
        }
        if deleted {
            signal?.notify()
            logger.notice(
                "account deleted",
                metadata: ["event": "user.deleted", "user_id": "\(accountID.lowercased)", "actor": "\(actor.stored)"])
        }
        return deleted
    }

    /// The id of the account with this address, if any.
    public func accountID(email: EmailAddress) async throws -> UUID? {
        try await store.withTransaction { try await $0.lockAccount(normalizedEmail: email.normalized)?.id }
    }

    /// Gives `role` to the account with `email`; its id, or nil when there is none.
    public func setRole(_ role: Role, email: EmailAddress, by actor: AuditActor, logger: Logger) async throws -> UUID? {
        let now = Date()
        let id = try await store.withTransaction { transaction -> UUID? in
            guard let id = try await transaction.setRole(normalizedEmail: email.normalized, role: role, at: now)
            else { return nil }
            try await transaction.recordAudit(
                AuditEvent(.roleChanged, account: id, actor: actor, at: now, detail: ["role": role.rawValue]))
            return id
        }
        if let id {
            logger.notice(
                "role granted",
                metadata: [
                    "event": "user.role_granted", "user_id": "\(id.lowercased)", "role": "\(role.rawValue)",
                    "actor": "\(actor.stored)",
                ])
        }
        return id
    }
}
