import Foundation

/// How many registration emails one address may receive: at most one per `EMAIL_COOLDOWN`
/// and `REGISTRATION_EMAILS_PER_HOUR` per hour. Registration answers the same 202 whatever
/// the address, so without this a third party could flood a chosen inbox with verification
/// links or "you already have an account" notices. A registration over the budget changes
/// nothing and sends nothing; the first registration of a new address always creates the
/// account and sends its link. Counted in the shared rate-limit table, per address hash.
public struct RegistrationEmailBudget: Sendable {
    let store: any RateLimitStore
    let cooldown: Duration
    let perHour: Int

    public init(store: any RateLimitStore, cooldown: Duration, perHour: Int) {
        self.store = store
        self.cooldown = cooldown
        self.perHour = perHour
    }

    /// Takes one email from the address's budget; false when none is left.
    func take(for email: EmailAddress, now: Date = Date()) async throws -> Bool {
        let key = RateLimiter.addressKey(email)
        if cooldown > .zero {
            let window = RateLimiter.windowStart(now, length: cooldown.timeInterval)
            guard try await store.hit(bucket: "registration-email:cooldown:\(key)", windowStart: window) <= 1 else {
                return false
            }
        }
        // Only a registration the cooldown lets through counts against the hour.
        let hour = RateLimiter.windowStart(now, length: 3600)
        return try await store.hit(bucket: "registration-email:hour:\(key)", windowStart: hour) <= perHour
    }
}
