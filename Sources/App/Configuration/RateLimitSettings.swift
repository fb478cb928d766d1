/// How many requests a client IP and an email address may make per window, per action.
/// Counters live in the database, so every instance shares them and restarts keep them.
public struct RateLimitSettings: Sendable {
    /// Length of the fixed counting window.
    public var window: Duration
    public var registerPerIP: Int
    public var registerPerEmail: Int
    public var loginPerIP: Int
    /// Login attempts per account and client network per window that may fail before
    /// further attempts from that network are refused.
    public var loginFailuresPerAccount: Int
    /// The same for all networks together: a ceiling against guessing spread over many
    /// networks, high enough that one third party cannot lock the owner out.
    public var loginFailuresPerAccountCeiling: Int
    /// Refresh-token exchanges per client network (a NAT may hold many users).
    public var refreshPerIP: Int
    /// Refresh-token exchanges per session (token family) within any window.
    public var refreshPerFamily: Int
    /// Resend and forgot requests, together.
    public var emailRequestsPerIP: Int
    public var emailRequestsPerAddress: Int

    public init(
        window: Duration = .seconds(900),
        registerPerIP: Int = 20,
        registerPerEmail: Int = 5,
        loginPerIP: Int = 100,
        loginFailuresPerAccount: Int = 10,
        loginFailuresPerAccountCeiling: Int = 100,
        emailRequestsPerIP: Int = 20,
        emailRequestsPerAddress: Int = 5,
        refreshPerIP: Int = 1000,
        refreshPerFamily: Int = 60
    ) {
        self.window = window
        self.registerPerIP = registerPerIP
        self.registerPerEmail = registerPerEmail
        self.loginPerIP = loginPerIP
        self.loginFailuresPerAccount = loginFailuresPerAccount
        self.loginFailuresPerAccountCeiling = loginFailuresPerAccountCeiling
        self.emailRequestsPerIP = emailRequestsPerIP
        self.emailRequestsPerAddress = emailRequestsPerAddress
        self.refreshPerIP = refreshPerIP
        self.refreshPerFamily = refreshPerFamily
    }

    /// No practical limit; for tests that are about something else.
    public static let unlimited = RateLimitSettings(
        registerPerIP: 1_000_000,
        registerPerEmail: 1_000_000,
        loginPerIP: 1_000_000,
        loginFailuresPerAccount: 1_000_000,
        loginFailuresPerAccountCeiling: 1_000_000,
        emailRequestsPerIP: 1_000_000,
        emailRequestsPerAddress: 1_000_000,
        refreshPerIP: 1_000_000,
        refreshPerFamily: 1_000_000
    )
}
