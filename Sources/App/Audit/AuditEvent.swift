import Foundation

/// Who caused an audited event.
public enum AuditActor: Sendable, Equatable {
    /// The account's owner (signed in, or holding one of its links).
    case owner
    /// An administrator, through the HTTP API.
    case admin(UUID)
    /// An operator, through the command line.
    case `operator`
    /// The service itself (a rule, e.g. refresh-token reuse detection).
    case system

    /// As stored: `self`, `admin:<id>`, `operator` or `system`.
    public var stored: String {
        switch self {
        case .owner: "self"
        case .admin(let id): "admin:\(id.lowercased)"
        case .operator: "operator"
        case .system: "system"
        }
    }
}

/// One entry of the append-only audit trail. It never holds a secret, a password, a token,
/// an email address or an email body: only what happened, to which account id, by whom, and
/// where the request came from.
public struct AuditEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case registered = "user.registered"
        case verified = "user.verified"
        case loginSucceeded = "user.login"
        case loginFailed = "user.login_failed"
        case refreshReuse = "auth.refresh_reuse"
        case sessionEnded = "session.ended"
        case passwordChanged = "user.password_changed"
        case passwordReset = "user.password_reset"
        case emailChangeRequested = "user.email_change_requested"
        case emailChanged = "user.email_changed"
        case roleChanged = "user.role_changed"
        case disabled = "user.disabled"
        case enabled = "user.enabled"
        case deleted = "user.deleted"
    }

    public let kind: Kind
    public let accountID: UUID?
    public let actor: AuditActor
    public let occurredAt: Date
    public let origin: RequestOrigin?
    /// A few plain facts (a reason, a role), never personal data.
    public let detail: [String: String]

    public init(
        _ kind: Kind, account accountID: UUID?, actor: AuditActor = .owner, at occurredAt: Date,
        origin: RequestOrigin? = RequestOrigin.current, detail: [String: String] = [:]
    ) {
        self.kind = kind
        self.accountID = accountID
        self.actor = actor
        self.occurredAt = occurredAt
        self.origin = origin
        self.detail = detail
    }

    /// `detail` as stored: a JSON object with sorted keys, or nil when empty.
    var storedDetail: String? {
        guard !detail.isEmpty,
            let data = try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// An audit event as stored, with its position in the trail.
public struct AuditEventRecord: Sendable, Equatable {
    public let id: Int64
    public let event: String
    public let accountID: UUID?
    public let actor: String
    public let occurredAt: Date
    public let clientIP: String?
    public let userAgent: String?
    public let requestID: String?
    public let detail: String?
}
