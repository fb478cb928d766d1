import Crypto
import Foundation
import HTTPTypes

/// The `Idempotency-Key` request header (IETF draft-ietf-httpapi-idempotency-key-header) of the
/// POSTs that send email. A client that got no answer (a timeout, a 502 from its load balancer)
/// retries with the same key and the same request, and gets the original answer without a
/// second email, even though the first request committed.
///
/// Only hashes are stored: of the key with the operation (the row's identity, so one key on
/// two endpoints is two keys), and of the operation with the request's address (to refuse a key
/// reused for another request). The password is deliberately not in the fingerprint: a fast
/// hash of it would be an offline guessing target in the database.
public struct IdempotencyKey: Sendable {
    static let field = HTTPField.Name("Idempotency-Key")!
    /// Set on a replayed answer, as payment APIs do, so a client can tell.
    static let replayedField = HTTPField.Name("Idempotent-Replayed")!
    static let maxLength = 255

    let value: String

    /// A key of 1 to 255 visible ASCII characters (no `"`), optionally given as a
    /// structured-field string (`"…"`); nil otherwise.
    public init?(_ raw: String) {
        var value = Substring(raw)
        if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
        guard (1...Self.maxLength).contains(value.utf8.count),
            value.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\"") })
        else { return nil }
        self.value = String(value)
    }

    /// The request's key: nil when absent; a malformed key, or more than one, is refused.
    static func read(from headers: HTTPFields) throws(IdempotencyKeyError) -> IdempotencyKey? {
        let values = headers[values: field]
        guard let raw = values.first else { return nil }
        guard values.count == 1, let key = IdempotencyKey(raw) else { throw .invalid }
        return key
    }

    /// What the service stores for this key: `operation` names the endpoint, `request` what
    /// must be the same on a retry (the normalised address).
    func use(operation: String, request: String, now: Date, ttl: Duration) -> IdempotencyKeyUse {
        IdempotencyKeyUse(
            keyHash: Data(SHA256.hash(data: Data("\(operation)\n\(value)".utf8))),
            fingerprint: Data(SHA256.hash(data: Data("\(operation)\n\(request)".utf8))),
            createdAt: now,
            expiresAt: now.addingTimeInterval(ttl.timeInterval)
        )
    }
}
