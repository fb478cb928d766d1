import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private func writeToStandardOutput(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
    write(1, bytes, count)
}

/// Where rendered log lines go.
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Standard output, one `write` per line so concurrent lines never interleave.
public struct StandardOutputLogSink: LogSink {
    private static let lock = NIOLock()

    public init() {}

    public func write(line: String) {
        var line = line
        line.append("\n")
        Self.lock.withLock {
            line.withUTF8 { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = writeToStandardOutput(buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }
}

/// Keeps lines in memory; for tests that assert on what was logged.
public final class CapturingLogSink: LogSink {
    private let storage = NIOLockedValueBox<[String]>([])

    public init() {}

    public func write(line: String) {
        storage.withLockedValue { $0.append(line) }
    }

    public var lines: [String] {
        storage.withLockedValue { $0 }
    }
}
