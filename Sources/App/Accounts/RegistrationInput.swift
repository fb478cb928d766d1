/// A registration request that passed every validation rule.
public struct RegistrationInput: Sendable {
    public let email: EmailAddress
    public let password: String

    /// Validates the members of a JSON body: exactly `email` and `password`, both strings,
    /// a valid address and a password that meets the policy. Throws every violation at once.
    public init(json object: [String: JSONValue], policy: PasswordPolicy) throws(ValidationError) {
        let values = try StringFields.read(object, ["email", "password"]) { values in
            var violations: [FieldViolation] = []
            if let raw = values["email"], let violation = StringFields.emailViolation(raw) {
                violations.append(violation)
            }
            if let password = values["password"] {
                violations += policy.violations(password: password, email: values["email"].flatMap(EmailAddress.init))
            }
            return violations
        }
        self.email = EmailAddress(values["email"]!)!
        self.password = values["password"]!
    }
}
