import NIOCore
import NIOPosix
import NIOSSL

/// Keeps SMTP sessions open between messages, up to `maxConnections`, and closes those idle
/// for longer than the settings' idle timeout (relays drop idle clients after a few minutes
/// anyway; a closed kept session is noticed at its next use and replaced).
actor SMTPConnectionPool {
    private let settings: SMTPSettings
    private let tls: NIOSSLContext?
    private let timeout: Duration
    private let maxConnections: Int
    private var idle: [(connection: SMTPConnection, since: NIODeadline)] = []
    private var opened = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var reaper: RepeatedTask?
    private var isShutDown = false

    init(settings: SMTPSettings, tls: NIOSSLContext?, timeout: Duration, maxConnections: Int) {
        self.settings = settings
        self.tls = tls
        self.timeout = timeout
        self.maxConnections = maxConnections
    }

    /// A ready session, and whether it was kept from an earlier message.
    func lease() async throws -> (connection: SMTPConnection, reused: Bool) {
        while true {
            if isShutDown { throw SMTPConnectionError.closed }
            if let kept = idle.popLast() {
                if kept.connection.isActive { return (kept.connection, true) }
                opened -= 1
                continue
            }
            if opened < maxConnections {
                opened += 1
                startReaper()
                do {
                    return (try await SMTPConnection.open(settings, tls: tls, timeout: timeout), false)
                } catch {
                    opened -= 1
                    waiters.popLast()?.resume()
                    throw error
                }
            }
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Takes a session back: kept for the next message if it is still usable, closed otherwise.
    func release(_ connection: SMTPConnection, reusable: Bool) {
        if reusable && connection.isActive && !isShutDown {
            idle.append((connection, .now()))
        } else {
            opened -= 1
            connection.close()
        }
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }

    /// Says QUIT to every kept session and refuses further leases.
    func shutdown() async {
        isShutDown = true
        reaper?.cancel()
        let sessions = idle.map(\.connection)
        idle = []
        opened -= sessions.count
        for waiter in waiters { waiter.resume() }
        waiters = []
        await withTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { await session.quit() } }
        }
    }

    private func reapIdle() async {
        let cutoff = NIODeadline.now() - TimeAmount(settings.idleTimeout)
        let stale = idle.filter { $0.since < cutoff || !$0.connection.isActive }.map(\.connection)
        guard !stale.isEmpty else { return }
        idle.removeAll { entry in stale.contains { $0 === entry.connection } }
        opened -= stale.count
        for session in stale { await session.quit() }
    }

    private func startReaper() {
        guard reaper == nil else { return }
        let interval = TimeAmount(settings.idleTimeout / 2)
        reaper = MultiThreadedEventLoopGroup.singleton.any().scheduleRepeatedTask(
            initialDelay: interval, delay: interval
        ) { [weak self] _ in
            guard let self else { return }
            Task { await self.reapIdle() }
        }
    }
}
