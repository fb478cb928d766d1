import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Turns the server's lines into replies and hands each to the oldest waiting command.
///
/// Lives on its channel's event loop; `SMTPConnection` reaches it only through
/// `eventLoop.execute`. When the connection ends or fails, every waiter fails with the reason.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// Longest reply line accepted (RFC 5321 allows 512 octets; some servers send more).
    static let maxLineLength = 4096

    private var waiters = CircularBuffer<EventLoopPromise<SMTPReply>>()
    private var buffer = ByteBuffer()
    private var context: ChannelHandlerContext?
    private var unclaimed = CircularBuffer<SMTPReply>()
    private var partial: [String] = []
    private var handshake: EventLoopPromise<Void>?
    private var failure: SMTPConnectionError?

    /// The next reply (the greeting, or the answer to the command just written).
    func expectReply(_ promise: EventLoopPromise<SMTPReply>) {
        if let reply = unclaimed.popFirst() {
            promise.succeed(reply)
        } else if let failure {
            promise.fail(failure)
        } else {
            waiters.append(promise)
        }
    }

    func expectHandshake(_ promise: EventLoopPromise<Void>) {
        if let failure { return promise.fail(failure) }
        handshake = promise
    }

    /// Fails every waiter with `error` and closes the connection (a timeout, a cancellation).
    func abort(_ error: SMTPConnectionError) {
        guard let context else { return }
        fail(error, context: context)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.writeBuffer(&incoming)
        while let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
            let length = newline - buffer.readerIndex
            let line = buffer.readString(length: length) ?? ""
            buffer.moveReaderIndex(forwardBy: 1)
            received(line: line, context: context)
        }
        if buffer.readableBytes > Self.maxLineLength {
            fail(.protocolViolation, context: context)
        }
        buffer.discardReadBytes()
    }

    private func received(line text: String, context: ChannelHandlerContext) {
        let trimmed = text.hasSuffix("\r") ? String(text.dropLast()) : text
        let utf8 = Array(trimmed.utf8)
        guard utf8.count >= 3, let code = Int(String(decoding: utf8[0..<3], as: UTF8.self)) else {
            fail(SMTPConnectionError.protocolViolation, context: context)
            return
        }
        let rest = utf8.count > 4 ? String(decoding: utf8[4...], as: UTF8.self) : ""
        partial.append(rest)
        if utf8.count > 3 && utf8[3] == UInt8(ascii: "-") { return }
        let reply = SMTPReply(code: code, lines: partial)
        partial = []
        if let waiter = waiters.popFirst() {
            waiter.succeed(reply)
        } else {
            unclaimed.append(reply)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            handshake?.succeed()
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(SMTPConnectionError(error), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.closed, context: context)
        context.fireChannelInactive()
    }

    private func fail(_ error: SMTPConnectionError, context: ChannelHandlerContext) {
        if failure == nil { failure = error }
        let reason = failure ?? error
        while let waiter = waiters.popFirst() { waiter.fail(reason) }
        handshake?.fail(reason)
        handshake = nil
        context.close(promise: nil)
    }
}

/// The connection to the SMTP server broke: closed, timed out, unreadable, or TLS refused.
struct SMTPConnectionError: Error, CustomStringConvertible {
    fileprivate enum Reason {
        case closed, protocolViolation, timedOut, tls(String), certificate, unreachable(String), other(String)
    }

    fileprivate let reason: Reason

    static let closed = SMTPConnectionError(reason: .closed)
    static let protocolViolation = SMTPConnectionError(reason: .protocolViolation)
    static let timedOut = SMTPConnectionError(reason: .timedOut)

    fileprivate init(reason: Reason) { self.reason = reason }

    init(_ error: any Error) {
        if let error = error as? SMTPConnectionError {
            self = error
        } else if let error = error as? NIOSSLError {
            if case .handshakeFailed(let inner) = error, "\(inner)".contains("CERTIFICATE_VERIFY_FAILED") {
                reason = .certificate
            } else {
                reason = .tls("\(error)")
            }
        } else if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            reason = .certificate
        } else if let error = error as? BoringSSLError {
            reason = .tls("\(error)")
        } else if let error = error as? NIOConnectionError {
            reason = .unreachable(Self.describe(error))
        } else if let error = error as? ChannelError, case .connectTimeout = error {
            reason = .timedOut
        } else {
            reason = .other(String(describing: type(of: error)))
        }
    }

    /// Why no connection was made: the first address's failure (refused, unreachable, …) or
    /// the name that did not resolve. Addresses and errno texts only, nothing from the session.
    private static func describe(_ error: NIOConnectionError) -> String {
        if let failure = error.connectionErrors.first {
            return "\(failure.target): \(String(describing: failure.error).prefix(160))"
        }
        if error.dnsAError != nil || error.dnsAAAAError != nil {
            return "\(error.host) did not resolve"
        }
        return "no address for \(error.host)"
    }

    /// The server's certificate did not verify (untrusted, expired, or for another host).
    var isCertificateFailure: Bool {
        if case .certificate = reason { return true }
        return false
    }

    var description: String {
        switch reason {
        case .closed: "the server closed the connection"
        case .protocolViolation: "the server sent a line that is not an SMTP reply"
        case .timedOut: "the server did not answer in time"
        case .tls(let detail): "TLS failed (\(detail.prefix(200)))"
        case .certificate:
            "the server's TLS certificate did not verify for this host (check SMTP_HOST and SMTP_CA_FILE)"
        case .unreachable(let detail): "cannot connect (\(detail))"
        case .other(let type): "connection failed (\(type))"
        }
    }
}
