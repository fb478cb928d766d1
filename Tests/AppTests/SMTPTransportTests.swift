import Foundation
import Testing

@testable import App

/// The SMTP transport against real aiosmtpd servers (started by `scripts/test`).
@Suite("SMTP transport")
struct SMTPTransportTests {
    let servers: MailServers

    init() throws {
        servers = try MailServers.running()
    }

    private func withTransport(
        _ settings: SMTPSettings, _ body: (SMTPTransport) async throws -> Void
    ) async throws {
        let transport = try SMTPTransport(settings: settings, maxConnections: 4, timeout: .seconds(10))
        try await using(transport, body)
    }

    /// Checks what a MIME parser made of a delivered verification email.
    private func expectWellFormed(_ received: MailServers.Received, to address: String) {
        #expect(received.contentType == "multipart/alternative")
        #expect(received.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(received.defects.isEmpty)
        #expect(received.text?.contains("https://accounts.example.test/v1/verify?token=abc_DEF-123") == true)
        #expect(received.html?.contains("href=\"https://accounts.example.test/v1/verify?token=abc_DEF-123\"") == true)
        #expect(received.headers["subject"] == "Confirm your email address")
        #expect(received.headers["to"] == address)
        #expect(received.headers["from"] == "Example Accounts <no-reply@example.test>")
        #expect(received.headers["reply-to"] == "support@example.test")
        #expect(received.headers["message-id"]?.hasSuffix("@example.test>") == true)
        #expect(received.headers["date"]?.hasSuffix("+0000") == true)
        #expect(received.envelopeFrom == "no-reply@example.test")
        #expect(received.sevenBit && !received.bareLF && received.maxLineLength <= 998)
    }

    @Test("plain SMTP on loopback (development): the message arrives whole and parses")
    func plainDelivery() async throws {
        let address = uniqueAddress()
        try await withTransport(servers.smtp(\.plainPort, security: .none, authenticated: false)) { transport in
            try await transport.send(sampleMessage(to: address))
        }
        let received = try await servers.smtpMessages(to: address)
        try #require(received.count == 1)
        expectWellFormed(received[0], to: address)
        #expect(received[0].tls == false)
    }

    @Test("STARTTLS with the test CA from SMTP_CA_FILE, then AUTH PLAIN")
    func startTLSWithPlainAuth() async throws {
        let address = uniqueAddress()
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            try await transport.check()
            try await transport.send(sampleMessage(to: address))
        }
        let received = try await servers.smtpMessages(to: address)
        try #require(received.count == 1)
        expectWellFormed(received[0], to: address)
        #expect(received[0].tls == true)
        #expect(received[0].authMechanism == "PLAIN")
    }

    @Test("implicit TLS (port 465 style), and AUTH LOGIN when the server offers only that")
    func implicitTLSWithLoginAuth() async throws {
        let address = uniqueAddress()
        try await withTransport(servers.smtp(\.tlsPort, security: .tls)) { transport in
            try await transport.send(sampleMessage(to: address, subject: "Bestätigen Sie Ihre Adresse — 確認"))
        }
        let received = try await servers.smtpMessages(to: address)
        try #require(received.count == 1)
        #expect(received[0].tls == true)
        #expect(received[0].authMechanism == "LOGIN")
        #expect(received[0].headers["subject"] == "Bestätigen Sie Ihre Adresse — 確認")
    }

    @Test("one session carries several messages in turn")
    func reusesSessions() async throws {
        let addresses = (0..<5).map { _ in uniqueAddress("reuse") }
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            for address in addresses { try await transport.send(sampleMessage(to: address)) }
        }
        var sessions: Set<String> = []
        for address in addresses {
            let received = try await servers.smtpMessages(to: address)
            try #require(received.count == 1)
            sessions.insert(received[0].session ?? "")
        }
        #expect(sessions.count == 1)
    }

    @Test("messages sent at once spread over several sessions, each delivered once")
    func concurrentSends() async throws {
        let addresses = (0..<12).map { _ in uniqueAddress("parallel") }
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for address in addresses { group.addTask { try await transport.send(sampleMessage(to: address)) } }
                try await group.waitForAll()
            }
        }
        var sessions: Set<String> = []
        for address in addresses {
            let received = try await servers.smtpMessages(to: address)
            #expect(received.count == 1)
            sessions.formUnion(received.compactMap(\.session))
        }
        #expect((2...4).contains(sessions.count))
    }

    @Test("a wrong password is a configuration failure")
    func wrongPassword() async throws {
        let address = uniqueAddress()
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls, password: "wrong")) { transport in
            let error = await expectDeliveryFailure(.configuration) {
                try await transport.send(sampleMessage(to: address))
            }
            #expect(error?.safeDescription.contains("535") == true)
            #expect(error?.safeDescription.contains("wrong") == false)
        }
        #expect(try await servers.smtpMessages(to: address).isEmpty)
    }

    @Test("550 at RCPT is a permanent failure, and the session stays usable")
    func rejectedRecipient() async throws {
        let rejected = uniqueAddress("reject")
        let next = uniqueAddress()
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            let error = await expectDeliveryFailure(.permanent) {
                try await transport.send(sampleMessage(to: rejected))
            }
            #expect(error?.safeDescription == "SMTP 550 5.1.1 at RCPT")
            try await transport.send(sampleMessage(to: next))
        }
        #expect(try await servers.smtpMessages(to: rejected).isEmpty)
        #expect(try await servers.smtpMessages(to: next).count == 1)
    }

    @Test("451 at RCPT is transient; the next attempt delivers")
    func temporaryFailure() async throws {
        let address = uniqueAddress("tempfail")
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            let error = await expectDeliveryFailure(.transient) { try await transport.send(sampleMessage(to: address)) }
            #expect(error?.safeDescription == "SMTP 451 4.3.0 at RCPT")
            try await transport.send(sampleMessage(to: address))
        }
        #expect(try await servers.smtpMessages(to: address).count == 1)
    }

    /// At-least-once: the server kept the message but the connection broke before its answer,
    /// so the transport cannot know; the retry delivers a second copy with the same Message-ID,
    /// which mail clients recognise as one message.
    @Test("a connection dropped after DATA is transient; the retry may deliver a second copy, same Message-ID")
    func droppedAfterData() async throws {
        let address = uniqueAddress("drop")
        let message = sampleMessage(to: address)
        try await withTransport(servers.smtp(\.starttlsPort, security: .starttls)) { transport in
            let error = await expectDeliveryFailure(.transient) { try await transport.send(message) }
            #expect(error?.safeDescription.contains("after the message data") == true)
            try await transport.send(message)
        }
        let received = try await servers.smtpMessages(to: address)
        #expect(received.count == 2)
        #expect(Set(received.compactMap { $0.headers["message-id"] }) == [message.messageID])
    }

    @Test("a certificate for another host is refused: a configuration failure, nothing sent")
    func wrongHostCertificate() async throws {
        let address = uniqueAddress()
        try await withTransport(servers.smtp(\.wronghostPort, security: .starttls, authenticated: false)) { transport in
            let error = await expectDeliveryFailure(.configuration) {
                try await transport.send(sampleMessage(to: address))
            }
            #expect(error?.safeDescription.contains("certificate") == true)
        }
        #expect(try await servers.smtpMessages(to: address).isEmpty)
    }

    @Test("a certificate from a CA that is not trusted is refused")
    func untrustedCertificate() async throws {
        var settings = servers.smtp(\.starttlsPort, security: .starttls)
        settings.caFile = nil
        try await withTransport(settings) { transport in
            await expectDeliveryFailure(.configuration) { try await transport.check() }
        }
    }

    @Test("a server without STARTTLS is refused when STARTTLS is required: nothing goes out in clear text")
    func missingStartTLS() async throws {
        try await withTransport(servers.smtp(\.plainPort, security: .starttls, authenticated: false)) { transport in
            let error = await expectDeliveryFailure(.configuration) {
                try await transport.send(sampleMessage(to: uniqueAddress()))
            }
            #expect(error?.safeDescription.contains("STARTTLS") == true)
        }
    }

    @Test("a server that is not listening is a transient failure that names the address and the refusal")
    func connectionRefused() async throws {
        var settings = servers.smtp(\.plainPort, security: .none, authenticated: false)
        settings.host = "127.0.0.1"
        settings.port = 1
        try await withTransport(settings) { transport in
            let error = await expectDeliveryFailure(.transient) {
                try await transport.send(sampleMessage(to: uniqueAddress()))
            }
            #expect(error?.safeDescription.contains("cannot connect") == true)
            #expect(error?.safeDescription.contains("127.0.0.1:1") == true)
            #expect(error?.safeDescription.contains("Connection refused") == true)
        }
    }
}
