/// Lets background services wait until start-up work (the migrations) is done.
public actor StartupGate {
    private var isOpen: Bool

    public init(open: Bool = false) {
        self.isOpen = open
    }

    public func open() {
        isOpen = true
    }

    /// Returns once the gate is open; throws `CancellationError` if cancelled first
    /// (e.g. a shutdown during start-up), so a waiting service never blocks shutdown.
    public func wait() async throws {
        while !isOpen {
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
