import Foundation
import Logging

/// The registration rule: one transaction per request, the same outward answer for every address.
///
/// - A new address gets a pending account and a verification email.
/// - An address still pending gets a new verification email whose link carries the password
///   of this registration; earlier links stay valid until one of them is used.
/// - An active address gets a "you already have an account" email and nothing changes.
public struct RegistrationService: Sendable {
    let store: any AccountStore
    let hasher: PasswordHasher
    let tokenTTL: Duration
    let links: Links
    let signal: OutboxSignal
    /// At most one resent link per address within this time.
    let resendCooldown: Duration
    /// How long an `Idempotency-Key` is remembered.
    let idempotencyKeyTTL: Duration
    /// Caps the emails a repeated registration sends to one address; nil means no cap.
    let emailBudget: RegistrationEmailBudget?
    /// Wakes the `EmailRequestResolver` when a request was recorded.
    let requests: OutboxSignal?
    let metrics: ServiceMetrics

    public init(
        store: any AccountStore,
        hasher: PasswordHasher,
        tokenTTL: Duration,
        links: Links,
        signal: OutboxSignal,
        resendCooldown: Duration = .seconds(60),
        idempotencyKeyTTL: Duration = .seconds(86400),
        emailBudget: RegistrationEmailBudget? = nil,
        requests: OutboxSignal? = nil,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.requests = requests
        self.store = store
        self.hasher = hasher
        self.tokenTTL = tokenTTL
        self.links = links
        self.signal = signal
        self.resendCooldown = resendCooldown
        self.idempotencyKeyTTL = idempotencyKeyTTL
        self.emailBudget = emailBudget
        self.metrics = metrics
    }

    /// Registers `email` with `password`, both already validated. With an idempotency key seen
    /// before for the same address, does nothing and says it was a replay.
    @discardableResult
    public func register(
        _ input: RegistrationInput, idempotencyKey: IdempotencyKey? = nil, requestID: String?, logger: Logger
    ) async throws -> IdempotentOutcome {
        // Hash before the transaction: the slow part holds no connection or lock, and every
        // outcome pays the same price, so timing does not reveal whether the address exists.
        let passwordHash = try await hasher.hash(input.password)
        let now = Date()
        let token = OpaqueToken.generate()
        let key = idempotencyKey?.use(
            operation: "register", request: input.email.normalized, now: now, ttl: idempotencyKeyTTL)
        let mayEmail = try await emailBudget?.take(for: input.email, now: now) ?? true
        let claimed = try await store.withTransaction { transaction -> (claim: AccountClaim, emailed: Bool)? in
            guard try await transaction.proceed(with: key) else { return nil }
            let claim = try await transaction.claimAddress(NewAccount(id: UUID(), email: input.email, createdAt: now))
            if claim.created { try await transaction.recordAudit(AuditEvent(.registered, account: claim.id, at: now)) }
            // Over the address's email budget a repeated registration changes nothing.
            guard claim.created || mayEmail else { return (claim, false) }
            let content: EmailContent
            switch claim.status {
            case .pending:
                try await transaction.insertVerificationToken(
                    NewVerificationToken(
                        tokenHash: token.hash,
                        accountID: claim.id,
                        passwordHash: passwordHash,
                        createdAt: now,
                        expiresAt: now.addingTimeInterval(tokenTTL.timeInterval)
                    )
                )
                content = EmailTemplates.verification(link: links.verification(token), validFor: tokenTTL)
            case .active:
                content = EmailTemplates.alreadyRegistered()
            }
            try await transaction.enqueueEmail(
                OutboxEmail(content, to: input.email.value, at: now, requestID: requestID)
            )
            return (claim, true)
        }
        guard let (claim, emailed) = claimed else {
            logger.info("registration replayed", metadata: ["event": "user.registration_replayed"])
            return .replayed
        }
        if emailed { signal.notify() }
        let event: String
        switch (claim.created, claim.status) {
        case (true, _):
            event = "user.registered"
            metrics.registration("new")
        case (false, .pending):
            event = "user.registration_repeated"
            metrics.registration("pending_again")
        case (false, .active):
            event = "user.registration_existing"
            metrics.registration("existing")
        }
        logger.info(
            "registration accepted",
            metadata: ["event": "\(event)", "user_id": "\(claim.id.lowercased)", "emailed": "\(emailed)"])
        return .performed
    }

    /// Sends a new verification link to a pending address; does nothing (silently) for unknown
    /// and active addresses and within the cooldown. The new link belongs to the latest
    /// registration (it carries that registration's password) and the earlier links keep
    /// working: a resend never moves an account to another registration's password, and
    /// with several registrations waiting each link asks for its own password.
    ///
    /// The request only records itself (`EmailRequest`), the same single insert whatever the
    /// address; `EmailRequestResolver` looks at the address afterwards. So neither the answer
    /// nor its timing depends on whether the address has an account.
    @discardableResult
    public func resendVerification(
        to email: EmailAddress, idempotencyKey: IdempotencyKey? = nil, requestID: String?, logger: Logger
    ) async throws -> IdempotentOutcome {
        let now = Date()
        let key = idempotencyKey?.use(operation: "resend", request: email.normalized, now: now, ttl: idempotencyKeyTTL)
        let recorded = try await store.withTransaction { transaction in
            guard try await transaction.proceed(with: key) else { return false }
            try await transaction.insertEmailRequest(
                EmailRequest(id: UUID(), kind: .resend, email: email.value, requestID: requestID, createdAt: now))
            return true
        }
        guard recorded else { return .replayed }
        requests?.notify()
        logger.info("verification resend requested", metadata: ["event": "user.verification_resend_requested"])
        return .performed
    }

    /// Sends the latest registration's link again (see `resendVerification`), for a login with
    /// the right password of a pending account. Returns "sent", "cooldown" or "not_pending".
    func resendAfterLogin(to email: EmailAddress) async throws -> String {
        let now = Date()
        let outcome = try await store.withTransaction { transaction in
            try await queueVerificationLink(in: transaction, to: email, now: now, requestID: nil)
        }
        if outcome == "sent" { signal.notify() }
        return outcome
    }

    /// Inside `transaction`: queues a new link for the latest registration of the pending
    /// account of `email`, unless a link went out within the cooldown. Returns "sent",
    /// "cooldown" or "not_pending" (unknown or active address).
    func queueVerificationLink(
        in transaction: any AccountTransaction, to email: EmailAddress, now: Date, requestID: String?
    ) async throws -> String {
        guard let account = try await transaction.lockAccount(normalizedEmail: email.normalized),
            account.status == .pending,
            let latest = try await transaction.latestVerificationToken(accountID: account.id)
        else { return "not_pending" }
        guard now.timeIntervalSince(latest.createdAt) >= resendCooldown.timeInterval else { return "cooldown" }
        let token = OpaqueToken.generate()
        try await transaction.insertVerificationToken(
            NewVerificationToken(
                tokenHash: token.hash,
                accountID: account.id,
                passwordHash: latest.passwordHash,
                createdAt: now,
                expiresAt: now.addingTimeInterval(tokenTTL.timeInterval)
            )
        )
        let content = EmailTemplates.verification(link: links.verification(token), validFor: tokenTTL)
        try await transaction.enqueueEmail(OutboxEmail(content, to: account.email, at: now, requestID: requestID))
        return "sent"
    }
}
