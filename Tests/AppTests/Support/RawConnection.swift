import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain TCP connection to the server on loopback, for behaviour HTTP clients hide:
/// slow senders, oversized headers, held-open connections.
final class RawConnection: @unchecked Sendable {
    /// -1 once closed: a second close could close a descriptor NIO reused in the meantime.
    private var fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            fd = -1
            throw POSIXError(.ECONNREFUSED)
        }
    }

    // Also runs when the initialiser throws (all properties were set), hence the -1 guard.
    deinit {
        if fd >= 0 { close(fd) }
    }

    func send(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Sends `text` one byte at a time with a pause between bytes, on a thread of its own,
    /// until it is all sent or the server has closed the connection.
    func trickle(_ text: String, pauseMilliseconds: UInt32) {
        let bytes = Array(text.utf8)
        Thread {
            for byte in bytes {
                var one = byte
                if Glibc.send(self.fd, &one, 1, Int32(MSG_NOSIGNAL)) <= 0 { return }
                usleep(pauseMilliseconds * 1000)
            }
        }.start()
    }

    /// Reads until the server closes the connection or `timeout` passes without data, on a
    /// thread of its own: a blocking read on Swift's cooperative pool (two threads here)
    /// could starve the very server it waits for.
    func readUntilClosed(timeout seconds: Int) async -> (text: String, closed: Bool) {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.blockingRead(timeout: seconds)) }
            thread.start()
        }
    }

    private func blockingRead(timeout seconds: Int) -> (text: String, closed: Bool) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                received += buffer[0..<count]
            } else {
                // 0: orderly close; -1: timeout (EAGAIN) or reset.
                let closed = count == 0 || errno == ECONNRESET
                return (String(decoding: received, as: UTF8.self), closed)
            }
        }
    }
}
