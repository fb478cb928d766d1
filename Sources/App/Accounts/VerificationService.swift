import Foundation
import Logging

/// Activates accounts from verification links.
public struct VerificationService: Sendable {
    let store: any AccountStore
    let metrics: ServiceMetrics

    public init(store: any AccountStore, metrics: ServiceMetrics = ServiceMetrics()) {
        self.store = store
        self.metrics = metrics
    }

    /// Activates the account the token belongs to with the password chosen together with it.
    ///
    /// A token of an account that is already active answers `.alreadyVerified` and changes
    /// nothing, so double clicks and mail scanners that open links first see success.
    public func verify(token rawToken: String, logger: Logger) async throws(VerificationError) -> VerificationOutcome {
        guard let token = OpaqueToken(parsing: rawToken) else {
            metrics.verification("invalid")
            throw VerificationError(.invalid)
        }
        let outcome: VerificationOutcome
        do {
            switch try await store.useVerificationToken(hash: token.hash, at: Date()) {
            case .unknown: throw VerificationError(.invalid)
            case .expired: throw VerificationError(.expired)
            case .alreadyActive(let id): outcome = .alreadyVerified(accountID: id)
            case .activated(let id): outcome = .verified(accountID: id)
            }
        } catch let error as VerificationError {
            switch error.kind {
            case .invalid: metrics.verification("invalid")
            case .expired: metrics.verification("expired")
            case .unavailable: break
            }
            throw error
        } catch {
            throw VerificationError(.unavailable(error))
        }
        switch outcome {
        case .verified(let id):
            metrics.verification("verified")
            logger.info("account verified", metadata: ["event": "user.verified", "user_id": "\(id.lowercased)"])
        case .alreadyVerified(let id):
            metrics.verification("already_verified")
            logger.info(
                "verification link reused",
                metadata: ["event": "user.verification_repeated", "user_id": "\(id.lowercased)"])
        }
        return outcome
    }
}

/// What a valid verification link did.
public enum VerificationOutcome: Sendable, Equatable {
    case verified(accountID: UUID)
    case alreadyVerified(accountID: UUID)
}

/// Why a verification link did not work.
public struct VerificationError: Error {
    enum Kind {
        /// Malformed, tampered or unknown: answered 400.
        case invalid
        /// Past its lifetime: answered 410.
        case expired
        /// The database failed: answered 500.
        case unavailable(any Error)
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }
}
