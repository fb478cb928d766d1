import Crypto
import Foundation

/// One versioned schema change. Applied migrations are never edited: a change is a new version.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }

    /// Recorded when applied, so an edited migration is detected at the next start.
    public var checksum: String {
        let digest = SHA256.hash(data: Data(statements.joined(separator: ";\n").utf8))
        return digest.map { String(format: "%02x", $0) }.joined()
    }
}
