/// A registration request that passed every validation rule.
public struct RegistrationInput: Sendable {
    public let email: EmailAddress
    public let password: String

    /// Validates the members of a JSON body: exactly `email` and `password`, both strings,
    /// a valid address and a password that meets the policy. Throws every violation at once.
    public init(json object: [String: JSONValue], policy: PasswordPolicy) throws(ValidationError) {
        var violations: [FieldViolation] = []
        for key in object.keys.sorted() where key != "email" && key != "password" {
            violations.append(FieldViolation(field: key, rule: "unknown_field", detail: "This member is not allowed."))
        }
        let rawEmail = Self.string(object, "email", into: &violations)
        let password = Self.string(object, "password", into: &violations)
        var email: EmailAddress?
        if let rawEmail {
            if rawEmail.trimmingWhitespace().utf8.count > EmailAddress.maxLength {
                violations.append(
                    FieldViolation(
                        field: "email",
                        rule: "too_long",
                        detail: "The email address must have at most \(EmailAddress.maxLength) characters."
                    )
                )
            } else if let parsed = EmailAddress(rawEmail) {
                email = parsed
            } else {
                violations.append(
                    FieldViolation(field: "email", rule: "invalid_format", detail: "This is not a valid email address.")
                )
            }
        }
        if let password {
            violations += policy.violations(password: password, email: email)
        }
        guard violations.isEmpty, let email, let password else {
            throw ValidationError(violations)
        }
        self.email = email
        self.password = password
    }

    private static func string(
        _ object: [String: JSONValue], _ key: String, into violations: inout [FieldViolation]
    ) -> String? {
        switch object[key] {
        case .string(let value):
            return value
        case nil:
            violations.append(FieldViolation(field: key, rule: "required", detail: "This member is required."))
        case .some:
            violations.append(FieldViolation(field: key, rule: "type", detail: "This member must be a string."))
        }
        return nil
    }
}
