import Foundation
import Logging

/// Changing the address of a signed-in account: the request (knowing the password) sends a
/// link to the new address and a notice to the current one; opening the link moves the
/// account, unless another account took the address meanwhile. Sessions stay as they are.
public struct EmailChangeService: Sendable {
    let sessions: SessionService
    let links: Links
    let tokenTTL: Duration
    let signal: OutboxSignal

    public init(sessions: SessionService, links: Links, tokenTTL: Duration, signal: OutboxSignal) {
        self.sessions = sessions
        self.links = links
        self.tokenTTL = tokenTTL
        self.signal = signal
    }

    var store: any AccountStore { sessions.store }

    /// Asks to move the account to `newAddress`. Whether that address has an account changes
    /// only which email it receives (a link, or a notice that it is in use), never the answer.
    /// A new request replaces the account's earlier ones.
    public func request(
        accountID: UUID, newAddress: EmailAddress, password: String, requestID: String?, logger: Logger
    ) async throws {
        let account = try await sessions.activeAccount(id: accountID)
        guard EmailAddress(account.email)?.normalized != newAddress.normalized else {
            throw EmailChangeError(.sameAddress)
        }
        let checkedHash = try await sessions.checkPassword(
            password, of: account, failureEvent: "user.email_change_failed", logger: logger)
        // Read in a transaction of its own, so no lock on another account's row is held while
        // this one's is: the answer only chooses the email; the link decides at its use.
        let taken = try await store.withTransaction {
            try await $0.lockAccount(normalizedEmail: newAddress.normalized) != nil
        }
        let token = OpaqueToken.generate()
        let now = Date()
        try await store.withTransaction { transaction in
            guard let locked = try await transaction.accountForSession(id: accountID), locked.isUsable,
                locked.passwordHash == checkedHash, let current = EmailAddress(locked.email)
            else { throw PasswordChangeError(.wrongPassword) }
            try await transaction.deleteUnusedEmailChangeTokens(accountID: accountID)
            if taken {
                try await transaction.enqueueEmail(
                    OutboxEmail(
                        EmailTemplates.emailChangeAddressInUse(), to: newAddress.value, at: now, requestID: requestID))
            } else {
                try await transaction.insertEmailChangeToken(
                    NewEmailChangeToken(
                        tokenHash: token.hash, accountID: accountID, oldNormalizedEmail: current.normalized,
                        newEmail: newAddress, createdAt: now, expiresAt: now.addingTimeInterval(tokenTTL.timeInterval)))
                try await transaction.enqueueEmail(
                    OutboxEmail(
                        EmailTemplates.emailChange(link: links.emailChange(token), validFor: tokenTTL),
                        to: newAddress.value, at: now, requestID: requestID))
            }
            try await transaction.enqueueEmail(
                OutboxEmail(EmailTemplates.emailChangeRequested(), to: locked.email, at: now, requestID: requestID))
            try await transaction.recordAudit(AuditEvent(.emailChangeRequested, account: accountID, at: now))
        }
        signal.notify()
        logger.info(
            "email change requested",
            metadata: ["event": "user.email_change_requested", "user_id": "\(accountID.lowercased)"])
    }

    /// Opens the link: the account gets the new address, and the former one is told.
    public func confirm(token raw: String, logger: Logger) async throws {
        guard let token = OpaqueToken(parsing: raw) else { throw EmailChangeError(.invalid) }
        let now = Date()
        let accountID: UUID
        do {
            accountID = try await store.withTransaction { transaction -> UUID in
                guard let record = try await transaction.lockEmailChangeToken(hash: token.hash) else {
                    throw EmailChangeError(.invalid)
                }
                guard record.usedAt == nil, record.expiresAt > now else { throw EmailChangeError(.expired) }
                guard let account = try await transaction.account(id: record.accountID), account.isUsable,
                    EmailAddress(account.email)?.normalized == record.oldNormalizedEmail,
                    let newAddress = EmailAddress(record.newEmail)
                else { throw EmailChangeError(.invalid) }
                try await transaction.changeEmail(accountID: account.id, to: newAddress, at: now)
                try await transaction.markEmailChangeTokenUsed(hash: token.hash, at: now)
                try await transaction.enqueueEmail(
                    OutboxEmail(EmailTemplates.emailChanged(), to: account.email, at: now, requestID: nil))
                try await transaction.recordAudit(AuditEvent(.emailChanged, account: account.id, at: now))
                return account.id
            }
        } catch is AddressTaken {
            logger.info("email change refused", metadata: ["event": "user.email_change_failed", "reason": "taken"])
            throw EmailChangeError(.addressTaken)
        }
        signal.notify()
        logger.info("email changed", metadata: ["event": "user.email_changed", "user_id": "\(accountID.lowercased)"])
    }
}
