import Foundation

extension UUID {
    /// The canonical lower-case form (RFC 9562) used in logs, matching what PostgreSQL prints.
    var lowercased: String { uuidString.lowercased() }
}
