import Foundation
import Logging

/// Activates accounts from verification links.
///
/// A link proves the inbox; the password proves the registrant. While one registration of a
/// pending address is waiting, its link activates in one click. While several are (someone
/// else may have registered the address with a password of their own), a link activates only
/// with the password chosen at its own registration, so a registration the owner did not make
/// can never become the owner's account by a click.
public struct VerificationService: Sendable {
    let store: any AccountStore
    let hasher: PasswordHasher
    let metrics: ServiceMetrics

    public init(store: any AccountStore, hasher: PasswordHasher, metrics: ServiceMetrics = ServiceMetrics()) {
        self.store = store
        self.hasher = hasher
        self.metrics = metrics
    }

    /// Activates the account the token belongs to with the password chosen together with it.
    ///
    /// A token of an account that is already active answers `.alreadyVerified` and changes
    /// nothing, so double clicks and mail scanners that open links first see success.
    public func verify(token rawToken: String, logger: Logger) async throws -> VerificationOutcome {
        let token = try parse(rawToken)
        return try await finish(
            try await store.useVerificationToken(hash: token.hash, at: Date(), passwordChecked: false), logger: logger)
    }

    /// Activates with the password chosen at the link's registration; anything else changes
    /// nothing and throws `.passwordMismatch`.
    public func verify(token rawToken: String, password: String, logger: Logger) async throws -> VerificationOutcome {
        let token = try parse(rawToken)
        let now = Date()
        let record = try await store.withTransaction { try await $0.lockVerificationToken(hash: token.hash) }
        guard let record else { return try await finish(.unknown, logger: logger) }
        if record.accountStatus == .active {
            return try await finish(.alreadyActive(accountID: record.accountID), logger: logger)
        }
        guard record.expiresAt > now else { return try await finish(.expired, logger: logger) }
        guard let passwordHash = record.passwordHash else { return try await finish(.unknown, logger: logger) }
        guard try await hasher.verify(password, against: passwordHash) else {
            metrics.verification("password_mismatch")
            logger.info(
                "verification refused: not the password of this registration",
                metadata: ["event": "user.verification_password_mismatch", "user_id": "\(record.accountID.lowercased)"])
            throw VerificationError(.passwordMismatch)
        }
        return try await finish(
            try await store.useVerificationToken(hash: token.hash, at: now, passwordChecked: true), logger: logger)
    }

    private func parse(_ rawToken: String) throws(VerificationError) -> OpaqueToken {
        guard let token = OpaqueToken(parsing: rawToken) else {
            metrics.verification("invalid")
            throw VerificationError(.invalid)
        }
        return token
    }

    private func finish(_ use: VerificationTokenUse, logger: Logger) async throws -> VerificationOutcome {
        switch use {
        case .unknown:
            metrics.verification("invalid")
            throw VerificationError(.invalid)
        case .expired:
            metrics.verification("expired")
            throw VerificationError(.expired)
        case .passwordRequired(let id):
            metrics.verification("password_required")
            logger.info(
                "verification needs the registration's password: several registrations are waiting",
                metadata: ["event": "user.verification_password_required", "user_id": "\(id.lowercased)"])
            throw VerificationError(.passwordRequired)
        case .activated(let id):
            metrics.verification("verified")
            logger.info("account verified", metadata: ["event": "user.verified", "user_id": "\(id.lowercased)"])
            return .verified(accountID: id)
        case .alreadyActive(let id):
            metrics.verification("already_verified")
            logger.info(
                "verification link reused",
                metadata: ["event": "user.verification_repeated", "user_id": "\(id.lowercased)"])
            return .alreadyVerified(accountID: id)
        }
    }
}

/// What a valid verification link did.
public enum VerificationOutcome: Sendable, Equatable {
    case verified(accountID: UUID)
    case alreadyVerified(accountID: UUID)
}
