/// Timing rules of the account emails.
public struct AccountSettings: Sendable {
    /// At most one verification (resend) or reset email per address within this time.
    public var emailCooldown: Duration
    /// How long a password reset link stays valid.
    public var passwordResetTokenTTL: Duration
    /// The page of a product's own front end that takes `?token=`; nil means the built-in form.
    public var passwordResetURL: String?
    /// How long an `Idempotency-Key` is remembered: a retry with it within this time gets the
    /// original answer and sends nothing.
    public var idempotencyKeyTTL: Duration
    /// Registration emails (links and "already registered" notices) per address per hour.
    public var registrationEmailsPerHour: Int

    public init(
        emailCooldown: Duration = .seconds(60),
        passwordResetTokenTTL: Duration = .seconds(1800),
        passwordResetURL: String? = nil,
        idempotencyKeyTTL: Duration = .seconds(86400),
        registrationEmailsPerHour: Int = 5
    ) {
        self.emailCooldown = emailCooldown
        self.passwordResetTokenTTL = passwordResetTokenTTL
        self.passwordResetURL = passwordResetURL
        self.idempotencyKeyTTL = idempotencyKeyTTL
        self.registrationEmailsPerHour = registrationEmailsPerHour
    }
}
