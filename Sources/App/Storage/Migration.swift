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

extension Migration {
    /// The migrations of `known` still to apply, in order, given the `applied` versions and
    /// their checksums. Throws when the history was edited or comes from a newer build.
    static func pending(known: [Migration], applied: [Int: String]) throws(MigrationError) -> [Migration] {
        let byVersion = Dictionary(uniqueKeysWithValues: known.map { ($0.version, $0) })
        if let stranger = applied.keys.sorted().first(where: { byVersion[$0] == nil }) {
            throw MigrationError.unknown(version: stranger)
        }
        var pending: [Migration] = []
        for migration in known.sorted(by: { $0.version < $1.version }) {
            guard let checksum = applied[migration.version] else {
                pending.append(migration)
                continue
            }
            guard checksum == migration.checksum else {
                throw MigrationError.edited(version: migration.version, name: migration.name)
            }
        }
        return pending
    }
}
