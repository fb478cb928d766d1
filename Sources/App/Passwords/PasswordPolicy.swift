/// The rules a new password must satisfy.
///
/// Lengths count Unicode characters (extended grapheme clusters, what a person sees as one
/// character) after NFC normalisation, never bytes.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 8
    public static let maximumLength = 128

    public init() {}

    /// Every rule `password` breaks for the account `email`; empty when it is acceptable.
    public func violations(password: String, email: EmailAddress?) -> [FieldViolation] {
        let normalized = PasswordHasher.normalize(password)
        var violations: [FieldViolation] = []
        let length = normalized.count
        if length < Self.minimumLength {
            violations.append(
                FieldViolation(
                    field: "password",
                    rule: "too_short",
                    detail: "The password must have at least \(Self.minimumLength) characters."
                )
            )
        } else if length > Self.maximumLength {
            violations.append(
                FieldViolation(
                    field: "password",
                    rule: "too_long",
                    detail: "The password must have at most \(Self.maximumLength) characters."
                )
            )
        }
        if normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            violations.append(
                FieldViolation(
                    field: "password",
                    rule: "control_characters",
                    detail: "The password must not contain control characters such as line breaks or NUL."
                )
            )
        }
        if let email, normalized.lowercased() == email.normalized {
            violations.append(
                FieldViolation(
                    field: "password", rule: "equals_email", detail: "The password must not be the email address.")
            )
        }
        return violations
    }
}
