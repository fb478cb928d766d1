/// Reads a JSON object that must have exactly the given members, all strings.
enum StringFields {
    /// The members' values; throws every violation at once (unknown, missing, not a string),
    /// after `extraViolations` has had a chance to add rules for the values present.
    static func read(
        _ object: [String: JSONValue],
        _ names: [String],
        extraViolations: ([String: String]) -> [FieldViolation] = { _ in [] }
    ) throws(ValidationError) -> [String: String] {
        var violations: [FieldViolation] = []
        var values: [String: String] = [:]
        for name in names {
            switch object[name] {
            case .string(let value):
                values[name] = value
            case nil:
                violations.append(FieldViolation(field: name, rule: "required", detail: "This member is required."))
            case .some:
                violations.append(FieldViolation(field: name, rule: "type", detail: "This member must be a string."))
            }
        }
        violations += extraViolations(values)
        for key in object.keys.sorted() where !names.contains(key) {
            violations.append(FieldViolation(field: key, rule: "unknown_field", detail: "This member is not allowed."))
        }
        guard violations.isEmpty else { throw ValidationError(violations) }
        return values
    }

    /// The rule an email member breaks, if any.
    static func emailViolation(_ raw: String, field: String = "email") -> FieldViolation? {
        if raw.trimmingWhitespace().utf8.count > EmailAddress.maxLength {
            return FieldViolation(
                field: field,
                rule: "too_long",
                detail: "The email address must have at most \(EmailAddress.maxLength) characters."
            )
        }
        if EmailAddress(raw) == nil {
            return FieldViolation(field: field, rule: "invalid_format", detail: "This is not a valid email address.")
        }
        return nil
    }

    /// Reads `{"email": …}` alone, as the resend and forgot endpoints take it.
    static func email(_ object: [String: JSONValue]) throws(ValidationError) -> EmailAddress {
        let values = try read(object, ["email"]) { values in
            values["email"].flatMap { emailViolation($0) }.map { [$0] } ?? []
        }
        return EmailAddress(values["email"]!)!
    }
}
