import Foundation

/// Which accounts an administrator's list shows.
public struct AccountFilter: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        /// Registered, not verified, not disabled.
        case pending
        /// Verified and not disabled.
        case active
        /// Disabled, whether verified or not.
        case disabled
    }

    public var status: Status?
    /// Normalised addresses starting with this (already lower-cased).
    public var emailPrefix: String?

    public init(status: Status? = nil, emailPrefix: String? = nil) {
        self.status = status
        self.emailPrefix = emailPrefix
    }

    /// `emailPrefix` as a `LIKE` pattern with `\` escaping its wildcards (`%` for any).
    var likePattern: String {
        guard let emailPrefix, !emailPrefix.isEmpty else { return "%" }
        var pattern = ""
        for character in emailPrefix {
            if character == "%" || character == "_" || character == "\\" { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern + "%"
    }
}

/// A position in the list of accounts (ordered by creation time, then id): the last account of
/// the page before. New accounts are created later than every existing one, so they appear at
/// the end and never shift a page that was already read.
public struct AccountCursor: Sendable, Equatable {
    public let createdAt: Date
    public let id: UUID

    /// Before every account: the first page starts here.
    static let start = AccountCursor(
        createdAt: Date(timeIntervalSince1970: 0), id: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))

    public init(createdAt: Date, id: UUID) {
        self.createdAt = createdAt
        self.id = id
    }

    /// Opaque to clients: base64url of `<the time's exact bits, hex>:<id>`, so the position
    /// survives the round trip exactly whatever the database's time precision.
    public var encoded: String {
        let bits = String(createdAt.timeIntervalSince1970.bitPattern, radix: 16)
        return Data("\(bits):\(id.lowercased)".utf8).base64URLEncodedString()
    }

    public init?(encoded: String) {
        guard encoded.utf8.count <= 128, let data = Data(base64URLEncoded: encoded) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = UInt64(parts[0], radix: 16), let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        let seconds = Double(bitPattern: bits)
        guard seconds.isFinite, seconds >= 0, seconds < 1e11 else { return nil }
        self.createdAt = Date(timeIntervalSince1970: seconds)
        self.id = id
    }
}
