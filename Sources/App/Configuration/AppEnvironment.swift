/// Whether the service runs for a developer or for real users (`APP_ENV`).
public enum AppEnvironment: String, Sendable {
    /// Everything may be defaulted; emails may go to the console.
    case development
    /// Refuses settings that are only safe on a developer's machine.
    case production
}
