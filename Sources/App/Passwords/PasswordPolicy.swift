/// The rules a new password must satisfy.
///
/// Lengths count Unicode characters (extended grapheme clusters, what a person sees as one
/// character) after NFC normalisation, never bytes.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 8
    public static let maximumLength = 128
    /// Shorter local parts (`a@…`) would forbid too much; they are not checked.
    public static let minimumLocalPartLength = 3

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
        let lowered = normalized.lowercased()
        if let email, lowered == email.normalized {
            violations.append(
                FieldViolation(
                    field: "password", rule: "equals_email", detail: "The password must not be the email address.")
            )
        } else if let email, email.localPart.count >= Self.minimumLocalPartLength, lowered.contains(email.localPart) {
            violations.append(
                FieldViolation(
                    field: "password",
                    rule: "contains_email_local_part",
                    detail: "The password must not contain the part of the email address before the @."
                )
            )
        }
        if length >= Self.minimumLength, CommonPasswords.shared.contains(lowered) {
            violations.append(
                FieldViolation(
                    field: "password",
                    rule: "common_password",
                    detail: "This password is one of the most common passwords; choose another."
                )
            )
        }
        return violations
    }
}
