import Foundation
import Logging
import NIOSSL
import Tracing

/// Sends through an SMTP relay (RFC 5321) over swift-nio: STARTTLS or implicit TLS with the
/// certificate and host name verified (TLS 1.2+), AUTH PLAIN or LOGIN, sessions kept open
/// and reused for further messages.
public final class SMTPTransport: EmailTransport {
    public var name: String { "smtp" }
    private let settings: SMTPSettings
    private let pool: SMTPConnectionPool

    public init(settings: SMTPSettings, maxConnections: Int, timeout: Duration) throws {
        self.settings = settings
        var tls: NIOSSLContext?
        if settings.security != .none {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            configuration.certificateVerification = .fullVerification
            if let caFile = settings.caFile {
                configuration.additionalTrustRoots = [.file(caFile)]
            }
            tls = try NIOSSLContext(configuration: configuration)
        }
        pool = SMTPConnectionPool(settings: settings, tls: tls, timeout: timeout, maxConnections: maxConnections)
    }

    /// Traced as `smtp.send` (a client span: the relay's address and port, whether a kept
    /// session was reused, how many sessions it took); no address or content of the message.
    public func send(_ message: EmailMessage) async throws {
        try await Spans.run("smtp.send", kind: .client) { span in
            span?.attributes["server.address"] = settings.host
            span?.attributes["server.port"] = settings.port
            try await send(message, span: span)
        }
    }

    private func send(_ message: EmailMessage, span: (any Span)?) async throws {
        let recipient = try message.validatedRecipient()
        let data = try MIMEMessage.render(message)
        var sessions = 0
        while true {
            let (connection, reused) = try await lease()
            sessions += 1
            span?.attributes["smtp.session.reused"] = reused
            span?.attributes["smtp.sessions"] = sessions
            var dataStarted = false
            do {
                try await connection.deliver(
                    from: message.from.value, to: recipient.value, data: data, dataStarted: &dataStarted)
                await pool.release(connection, reusable: true)
                return
            } catch let error as SMTPReplyError {
                await pool.release(connection, reusable: await connection.reset())
                throw error.deliveryError
            } catch let error as SMTPConnectionError {
                await pool.release(connection, reusable: false)
                // A kept session the server closed while it was idle fails at its first command:
                // nothing of this message reached the server, so a fresh session may try at once.
                if reused && !dataStarted { continue }
                throw Self.classify(error, dataStarted: dataStarted)
            } catch {
                await pool.release(connection, reusable: false)
                throw error
            }
        }
    }

    /// Connects a session for the start-up check: greeting, EHLO, TLS and AUTH, then QUIT.
    public func check() async throws {
        let (connection, _) = try await lease()
        await connection.quit()
        await pool.release(connection, reusable: false)
    }

    public func shutdown() async {
        await pool.shutdown()
    }

    private func lease() async throws -> (connection: SMTPConnection, reused: Bool) {
        do {
            return try await pool.lease()
        } catch let error as SMTPReplyError {
            throw error.deliveryError
        } catch let error as SMTPConnectionError {
            throw Self.classify(error, dataStarted: false)
        }
    }

    static func classify(_ error: SMTPConnectionError, dataStarted: Bool) -> EmailDeliveryError {
        if error.isCertificateFailure { return EmailDeliveryError(.configuration, "SMTP: \(error)") }
        // After DATA the server may have kept the message: the retry can deliver it twice
        // (the copies share their Message-ID). That is what at-least-once means.
        let when = dataStarted ? " after the message data (it may arrive twice)" : ""
        return EmailDeliveryError(.transient, "SMTP: \(error)\(when)")
    }
}
