import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// One SMTP session with the relay: greeted, upgraded to TLS, authenticated, then used for
/// any number of messages in turn (never two at once: the pool lends it to one sender).
final class SMTPConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<SMTPClientHandler>
    private let timeout: TimeAmount

    private init(channel: any Channel, handler: NIOLoopBound<SMTPClientHandler>, timeout: TimeAmount) {
        self.channel = channel
        self.handler = handler
        self.timeout = timeout
    }

    var isActive: Bool { channel.isActive }

    /// Connects and runs the session up to the point where a message can be sent.
    static func open(
        _ settings: SMTPSettings, tls: NIOSSLContext?, timeout: Duration
    ) async throws -> SMTPConnection {
        let group = MultiThreadedEventLoopGroup.singleton
        let implicitTLS = settings.security == .tls ? tls : nil
        let host = settings.host
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: implicitTLS, serverHostname: host))
                        }
                        try channel.pipeline.syncOperations.addHandler(SMTPClientHandler())
                    }
                }
                .connect(host: settings.host, port: settings.port)
                .get()
        } catch {
            throw SMTPConnectionError(error)
        }
        // Commands go out as soon as they are written. Best effort, after the connection is up:
        // some sandboxes refuse the option (EACCES without CAP_NET_ADMIN, seen under gVisor's
        // host networking), and a slower SMTP session beats no session.
        try? await channel.setOption(.socketOption(.tcp_nodelay), value: 1).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(
                try channel.pipeline.syncOperations.handler(type: SMTPClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        let connection = SMTPConnection(channel: channel, handler: handler, timeout: TimeAmount(timeout))
        do {
            try await connection.startSession(settings, tls: tls)
            return connection
        } catch {
            connection.close()
            throw error
        }
    }

    private func startSession(_ settings: SMTPSettings, tls: NIOSSLContext?) async throws {
        let greeting = try await reply(to: nil)
        guard greeting.code == 220 else { throw SMTPReplyError(stage: "greeting", reply: greeting) }
        var capabilities = try await hello(settings.heloName)
        if settings.security == .starttls {
            guard capabilities.contains("STARTTLS"), let tls else {
                throw EmailDeliveryError(
                    .configuration,
                    "the SMTP server does not offer STARTTLS (SMTP_SECURITY=starttls); use tls or fix the server")
            }
            let answer = try await reply(to: "STARTTLS")
            guard answer.code == 220 else { throw SMTPReplyError(stage: "STARTTLS", reply: answer) }
            try await startTLS(tls, serverHostname: settings.host)
            capabilities = try await hello(settings.heloName)
        }
        if let username = settings.username, let password = settings.password {
            try await authenticate(username: username, password: password, capabilities: capabilities)
        }
    }

    /// EHLO; returns the extension keywords the server announced (upper case), with AUTH's
    /// mechanisms as `AUTH PLAIN`, `AUTH LOGIN`….
    private func hello(_ name: String) async throws -> Set<String> {
        let answer = try await reply(to: "EHLO \(name)")
        guard answer.code == 250 else { throw SMTPReplyError(stage: "EHLO", reply: answer) }
        var capabilities: Set<String> = []
        for line in answer.lines.dropFirst() {
            let words = line.uppercased().split(separator: " ").map(String.init)
            guard let keyword = words.first else { continue }
            capabilities.insert(keyword)
            if keyword == "AUTH" { for mechanism in words.dropFirst() { capabilities.insert("AUTH \(mechanism)") } }
        }
        return capabilities
    }

    private func startTLS(_ context: NIOSSLContext, serverHostname: String) async throws {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            handler.value.expectHandshake(promise)
            do {
                let tls = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                try channel.pipeline.syncOperations.addHandler(tls, position: .first)
            } catch {
                handler.value.abort(SMTPConnectionError(error))
            }
        }
        try await bounded(promise.futureResult)
    }

    private func authenticate(username: String, password: String, capabilities: Set<String>) async throws {
        let answer: SMTPReply
        if capabilities.contains("AUTH PLAIN") {
            let credentials = Data([0] + Array(username.utf8) + [0] + Array(password.utf8)).base64EncodedString()
            answer = try await reply(to: "AUTH PLAIN \(credentials)")
        } else if capabilities.contains("AUTH LOGIN") {
            let start = try await reply(to: "AUTH LOGIN")
            guard start.code == 334 else { throw SMTPReplyError(stage: "AUTH", reply: start) }
            let user = try await reply(to: Data(username.utf8).base64EncodedString())
            guard user.code == 334 else { throw SMTPReplyError(stage: "AUTH", reply: user) }
            answer = try await reply(to: Data(password.utf8).base64EncodedString())
        } else {
            throw EmailDeliveryError(
                .configuration, "the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN (over this connection)")
        }
        guard answer.code == 235 else { throw SMTPReplyError(stage: "AUTH", reply: answer) }
    }

    /// Sends one message. `dataStarted` tells, after a failure, whether the server may
    /// already have the message (a retry could then deliver it twice).
    func deliver(from: String, to: String, data: String, dataStarted: inout Bool) async throws {
        let mail = try await reply(to: "MAIL FROM:<\(from)>")
        guard mail.code == 250 else { throw SMTPReplyError(stage: "MAIL", reply: mail) }
        let rcpt = try await reply(to: "RCPT TO:<\(to)>")
        guard rcpt.code == 250 || rcpt.code == 251 else { throw SMTPReplyError(stage: "RCPT", reply: rcpt) }
        let start = try await reply(to: "DATA")
        guard start.code == 354 else { throw SMTPReplyError(stage: "DATA", reply: start) }
        dataStarted = true
        let done = try await reply(to: Self.dotStuffed(data) + ".")
        guard done.code == 250 else { throw SMTPReplyError(stage: "DATA", reply: done) }
    }

    /// RSET after a refused command; true when the session can carry another message.
    func reset() async -> Bool {
        guard isActive, let answer = try? await reply(to: "RSET") else { return false }
        return answer.code == 250
    }

    /// QUIT politely, then close, without waiting long for a server that does not answer.
    func quit() async {
        if isActive { _ = try? await reply(to: "QUIT") }
        close()
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Writes `line` (with CRLF; nil writes nothing) and waits for the next reply, within
    /// the timeout; a cancelled caller closes the connection, since its state is then unknown.
    private func reply(to line: String?) async throws -> SMTPReply {
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let handler = self.handler
        let channel = self.channel
        channel.eventLoop.execute {
            handler.value.expectReply(promise)
            if let line {
                var buffer = channel.allocator.buffer(capacity: line.utf8.count + 2)
                buffer.writeString(line)
                buffer.writeString("\r\n")
                channel.writeAndFlush(buffer, promise: nil)
            }
        }
        return try await bounded(promise.futureResult)
    }

    private func bounded<Value: Sendable>(_ future: EventLoopFuture<Value>) async throws -> Value {
        let handler = self.handler
        let eventLoop = channel.eventLoop
        let deadline = eventLoop.scheduleTask(in: timeout) { handler.value.abort(.timedOut) }
        defer { deadline.cancel() }
        return try await withTaskCancellationHandler {
            try await future.get()
        } onCancel: {
            eventLoop.execute { handler.value.abort(.timedOut) }
        }
    }

    /// CRLF line ends, and a `.` doubled at the start of a line (RFC 5321 §4.5.2); the result
    /// ends with CRLF, ready for the closing `.`.
    static func dotStuffed(_ data: String) -> String {
        var lines = data.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n") + "\r\n"
    }
}

/// The server answered a command with a refusal.
struct SMTPReplyError: Error {
    let stage: String
    let reply: SMTPReply

    /// 5xx is permanent (the authentication codes excepted: those mean the setup is wrong),
    /// 4xx transient.
    var deliveryError: EmailDeliveryError {
        let text = "SMTP \(reply.summary) at \(stage)"
        if stage == "AUTH" || [530, 534, 535, 538].contains(reply.code) {
            if (400..<500).contains(reply.code) { return EmailDeliveryError(.transient, text) }
            return EmailDeliveryError(
                .configuration, "\(text): the server refused the credentials (SMTP_USERNAME, SMTP_PASSWORD)")
        }
        if ["greeting", "EHLO", "STARTTLS"].contains(stage) {
            return EmailDeliveryError(.transient, text)
        }
        return EmailDeliveryError((500..<600).contains(reply.code) ? .permanent : .transient, text)
    }
}
